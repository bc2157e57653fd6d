//! Mobile push and SMS settings, kept but never used to send: platform applications and
//! their endpoints, the account's SMS attributes and its opted-out numbers. Strata has no
//! push services or SMS gateway, so these are stored and listed (as SNS does for an account
//! whose credentials are never exercised) and subscriptions to them get nothing.
//!
//! Stored as log properties (durable, small): namespace `sns.platform` keyed by application
//! name, `sns.endpoint` keyed by `<application>/<id>`, `sns.sms` keyed by attribute name.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::error::{Error, Result};
use super::{Topics, uuid};

const APPLICATIONS: &str = "sns.platform";
const ENDPOINTS: &str = "sns.endpoint";
const SMS: &str = "sns.sms";
const OPTED_OUT: &str = "sns.opted-out";

/// A platform application.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Application {
    /// Name.
    pub name: String,
    /// Platform (`GCM`, `APNS`, ...).
    pub platform: String,
    /// Attributes as set (credentials are kept but never shown).
    pub attributes: BTreeMap<String, String>,
}

/// A platform endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// The application's name.
    pub application: String,
    /// Its id (the last part of its ARN).
    pub id: String,
    /// Attributes (`Token`, `CustomUserData`, `Enabled`).
    pub attributes: BTreeMap<String, String>,
}

fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Option<T> {
    serde_json::from_slice(bytes).ok()
}

impl Topics {
    fn put(&self, namespace: &str, key: &str, value: &impl Serialize) -> Result<()> {
        self.inner
            .log
            .put_property(
                namespace,
                key,
                serde_json::to_vec(value).unwrap_or_default(),
            )
            .map_err(|e| Error::internal(&e))
    }

    /// Creates (or updates) a platform application.
    pub fn create_application(
        &self,
        name: &str,
        platform: &str,
        attributes: BTreeMap<String, String>,
    ) -> Result<Application> {
        let application = Application {
            name: name.to_owned(),
            platform: platform.to_owned(),
            attributes,
        };
        self.put(APPLICATIONS, &format!("{platform}/{name}"), &application)?;
        Ok(application)
    }

    /// A platform application by platform and name.
    pub fn application(&self, platform: &str, name: &str) -> Result<Application> {
        self.inner
            .log
            .property(APPLICATIONS, &format!("{platform}/{name}"))
            .and_then(|bytes| decode(&bytes))
            .ok_or_else(|| Error::NotFound("PlatformApplication does not exist".into()))
    }

    /// Every platform application.
    #[must_use]
    pub fn applications(&self) -> Vec<Application> {
        self.inner
            .log
            .properties(APPLICATIONS)
            .into_iter()
            .filter_map(|(_, bytes)| decode(&bytes))
            .collect()
    }

    /// Replaces a platform application's attributes (merged).
    pub fn set_application_attributes(
        &self,
        platform: &str,
        name: &str,
        attributes: BTreeMap<String, String>,
    ) -> Result<()> {
        let mut application = self.application(platform, name)?;
        application.attributes.extend(attributes);
        self.put(APPLICATIONS, &format!("{platform}/{name}"), &application)
    }

    /// Deletes a platform application and its endpoints (none is no error).
    pub fn delete_application(&self, platform: &str, name: &str) -> Result<()> {
        let log = &self.inner.log;
        for endpoint in self.endpoints(name) {
            log.delete_property(ENDPOINTS, &format!("{name}/{}", endpoint.id))
                .map_err(|e| Error::internal(&e))?;
        }
        log.delete_property(APPLICATIONS, &format!("{platform}/{name}"))
            .map_err(|e| Error::internal(&e))
    }

    /// Creates an endpoint; one with the same token already there is returned as it is.
    pub fn create_endpoint(
        &self,
        application: &str,
        attributes: BTreeMap<String, String>,
    ) -> Result<Endpoint> {
        if let Some(existing) = self
            .endpoints(application)
            .into_iter()
            .find(|endpoint| endpoint.attributes.get("Token") == attributes.get("Token"))
        {
            return Ok(existing);
        }
        let endpoint = Endpoint {
            application: application.to_owned(),
            id: uuid(),
            attributes,
        };
        self.put(
            ENDPOINTS,
            &format!("{application}/{}", endpoint.id),
            &endpoint,
        )?;
        Ok(endpoint)
    }

    /// The endpoints of an application.
    #[must_use]
    pub fn endpoints(&self, application: &str) -> Vec<Endpoint> {
        let prefix = format!("{application}/");
        self.inner
            .log
            .properties(ENDPOINTS)
            .into_iter()
            .filter(|(key, _)| key.starts_with(&prefix))
            .filter_map(|(_, bytes)| decode(&bytes))
            .collect()
    }

    /// One endpoint.
    pub fn endpoint(&self, application: &str, id: &str) -> Result<Endpoint> {
        self.inner
            .log
            .property(ENDPOINTS, &format!("{application}/{id}"))
            .and_then(|bytes| decode(&bytes))
            .ok_or_else(|| Error::NotFound("Endpoint does not exist".into()))
    }

    /// Merges attributes into an endpoint's.
    pub fn set_endpoint_attributes(
        &self,
        application: &str,
        id: &str,
        attributes: BTreeMap<String, String>,
    ) -> Result<()> {
        let mut endpoint = self.endpoint(application, id)?;
        endpoint.attributes.extend(attributes);
        self.put(ENDPOINTS, &format!("{application}/{id}"), &endpoint)
    }

    /// Deletes an endpoint (none is no error).
    pub fn delete_endpoint(&self, application: &str, id: &str) -> Result<()> {
        self.inner
            .log
            .delete_property(ENDPOINTS, &format!("{application}/{id}"))
            .map_err(|e| Error::internal(&e))
    }

    /// The account's SMS attributes.
    #[must_use]
    pub fn sms_attributes(&self) -> BTreeMap<String, String> {
        self.inner
            .log
            .properties(SMS)
            .into_iter()
            .filter_map(|(key, value)| String::from_utf8(value).ok().map(|value| (key, value)))
            .collect()
    }

    /// Sets SMS attributes.
    pub fn set_sms_attributes(&self, attributes: BTreeMap<String, String>) -> Result<()> {
        for (key, value) in attributes {
            self.inner
                .log
                .put_property(SMS, &key, value.into_bytes())
                .map_err(|e| Error::internal(&e))?;
        }
        Ok(())
    }

    /// Opted-out phone numbers, sorted.
    #[must_use]
    pub fn opted_out(&self) -> Vec<String> {
        self.inner
            .log
            .properties(OPTED_OUT)
            .into_iter()
            .map(|(key, _)| key)
            .collect()
    }

    /// Opts a number back in.
    pub fn opt_in(&self, number: &str) -> Result<()> {
        self.inner
            .log
            .delete_property(OPTED_OUT, number)
            .map_err(|e| Error::internal(&e))
    }
}
