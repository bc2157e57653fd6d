//! What every AWS service adapter shares: the one error answer ([`ApiError`]), the shape
//! constraint checks worded as AWS words them ([`validate::Checks`]), and the table of
//! services the front door routes to ([`routes`]). ARNs are parsed by
//! [`protocol::aws::arn::Arn`], which the views use too.

pub mod error;
pub mod routes;
pub mod validate;

pub use error::ApiError;
