//! The queue operations on [`Client`]: SQS-semantics queues over the native protocol, plus
//! a peek that changes nothing and a rewind.

use protocol::native::queues::{
    EntryOutcome, QueueAck, QueueCreate, QueueList, QueueMessage, QueueName, QueuePeek,
    QueueReceive, QueueRecord, QueueRecords, QueueRewind, QueueRewindOk, QueueSend, QueueSent,
    RewindPoint,
};
use protocol::native::{Request, Response};

use crate::connection::{Client, unexpected};
use crate::error::ClientError;

impl Client {
    /// Creates a queue with SQS attributes (`FifoQueue`, `VisibilityTimeout`, …); succeeds
    /// if it exists with the same attributes.
    ///
    /// # Errors
    /// As [`Client::call`]; `QueueExists` if it exists with others (or was deleted less than
    /// 60 seconds ago), `InvalidArgument` for a bad name or attribute.
    pub async fn create_queue(
        &self,
        name: &str,
        attributes: Vec<(String, String)>,
    ) -> Result<(), ClientError> {
        let request = Request::QueueCreate(QueueCreate {
            name: name.into(),
            attributes,
        });
        match self.call(request).await? {
            Response::QueueCreateOk => Ok(()),
            other => Err(unexpected("QueueCreateOk", &other)),
        }
    }

    /// Deletes a queue and its messages.
    ///
    /// # Errors
    /// As [`Client::call`]; `QueueNotFound`.
    pub async fn delete_queue(&self, name: &str) -> Result<(), ClientError> {
        match self
            .call(Request::QueueDelete(QueueName { name: name.into() }))
            .await?
        {
            Response::QueueDeleteOk => Ok(()),
            other => Err(unexpected("QueueDeleteOk", &other)),
        }
    }

    /// The queues whose names start with `prefix`, sorted.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn list_queues(&self, prefix: &str) -> Result<Vec<String>, ClientError> {
        match self
            .call(Request::QueueList(QueueList {
                prefix: prefix.into(),
            }))
            .await?
        {
            Response::QueueNames(names) => Ok(names.names),
            other => Err(unexpected("QueueNames", &other)),
        }
    }

    /// Sends messages in one append; each one's outcome is in its position.
    ///
    /// # Errors
    /// As [`Client::call`]; `QueueNotFound`.
    pub async fn send_messages(
        &self,
        name: &str,
        messages: Vec<QueueMessage>,
    ) -> Result<Vec<EntryOutcome<QueueSent>>, ClientError> {
        match self
            .call(Request::QueueSend(QueueSend {
                name: name.into(),
                messages,
            }))
            .await?
        {
            Response::QueueSendOk(ok) => Ok(ok.results),
            other => Err(unexpected("QueueSendOk", &other)),
        }
    }

    /// Receives up to `max_messages` (1 to 10) messages, waiting up to `wait_s` (0 to 20)
    /// seconds for the first; each is in flight for the visibility timeout.
    ///
    /// # Errors
    /// As [`Client::call`]; `QueueNotFound`, `InvalidArgument`.
    pub async fn receive_messages(
        &self,
        name: &str,
        max_messages: u32,
        wait_s: u32,
        visibility_timeout_s: Option<u32>,
    ) -> Result<Vec<QueueRecord>, ClientError> {
        let request = Request::QueueReceive(QueueReceive {
            name: name.into(),
            max_messages,
            wait_s,
            visibility_timeout_s,
        });
        match self.call(request).await? {
            Response::QueueReceived(records) => Ok(records.messages),
            other => Err(unexpected("QueueReceived", &other)),
        }
    }

    /// Deletes received messages by receipt handle; each handle's outcome is in its
    /// position.
    ///
    /// # Errors
    /// As [`Client::call`]; `QueueNotFound`.
    pub async fn ack_messages(
        &self,
        name: &str,
        receipt_handles: Vec<String>,
    ) -> Result<Vec<EntryOutcome<()>>, ClientError> {
        match self
            .call(Request::QueueAck(QueueAck {
                name: name.into(),
                receipt_handles,
            }))
            .await?
        {
            Response::QueueAckOk(ok) => Ok(ok.results),
            other => Err(unexpected("QueueAckOk", &other)),
        }
    }

    /// Deletes every message of the queue (once per 60 seconds).
    ///
    /// # Errors
    /// As [`Client::call`]; `QueueNotFound`, `LimitExceeded` within 60 seconds of a purge.
    pub async fn purge_queue(&self, name: &str) -> Result<(), ClientError> {
        match self
            .call(Request::QueuePurge(QueueName { name: name.into() }))
            .await?
        {
            Response::QueuePurgeOk => Ok(()),
            other => Err(unexpected("QueuePurgeOk", &other)),
        }
    }

    /// Up to `max_messages` (1 to 1,000) messages from `from_offset` on, without receiving
    /// them; finished ones only with `include_finished`.
    ///
    /// # Errors
    /// As [`Client::call`]; `QueueNotFound`, `InvalidArgument`.
    pub async fn peek_queue(
        &self,
        name: &str,
        from_offset: Option<u64>,
        max_messages: u32,
        include_finished: bool,
    ) -> Result<QueueRecords, ClientError> {
        let request = Request::QueuePeek(QueuePeek {
            name: name.into(),
            from_offset,
            max_messages,
            include_finished,
        });
        match self.call(request).await? {
            Response::QueuePeeked(records) => Ok(records),
            other => Err(unexpected("QueuePeeked", &other)),
        }
    }

    /// Makes every message from `to` on receivable again (deleted, in flight or moved ones
    /// included); receipt handles issued before are stale.
    ///
    /// # Errors
    /// As [`Client::call`]; `QueueNotFound`.
    pub async fn rewind_queue(
        &self,
        name: &str,
        to: RewindPoint,
    ) -> Result<QueueRewindOk, ClientError> {
        match self
            .call(Request::QueueRewind(QueueRewind {
                name: name.into(),
                to,
            }))
            .await?
        {
            Response::QueueRewindOk(ok) => Ok(ok),
            other => Err(unexpected("QueueRewindOk", &other)),
        }
    }
}
