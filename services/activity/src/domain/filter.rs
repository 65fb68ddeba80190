//! Which events a `ListEvents` call streams.

use super::{Problem, ValidationError};
use crate::proto::Deployment;

/// Every event (deployment id 0, as the original), or those of one deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeploymentFilter {
    /// Deployment id 0: all events.
    All,
    /// The events of this deployment (> 0).
    One(i32),
}

impl DeploymentFilter {
    /// Parses the request; a negative id is refused.
    pub fn parse(deployment: &Deployment) -> Result<Self, ValidationError> {
        match deployment.id {
            0 => Ok(Self::All),
            id if id > 0 => Ok(Self::One(id)),
            id => Err(ValidationError::one(Problem::NegativeListDeployment(id))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_is_all_and_negative_is_refused() {
        assert_eq!(
            DeploymentFilter::parse(&Deployment { id: 0 }),
            Ok(DeploymentFilter::All)
        );
        assert_eq!(
            DeploymentFilter::parse(&Deployment { id: 7 }),
            Ok(DeploymentFilter::One(7))
        );
        let error = DeploymentFilter::parse(&Deployment { id: -1 }).unwrap_err();
        assert_eq!(error.problems(), [Problem::NegativeListDeployment(-1)]);
        assert!(error.to_string().contains("deployment"));
    }
}
