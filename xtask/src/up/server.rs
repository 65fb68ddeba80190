//! A backing server `up` starts whole (Redis, MongoDB) as one component: start it through the
//! harness, let the caller publish what it offers, remove it on stop.

use anyhow::Result;

use super::{BoxFuture, Component, Stack};
use crate::runner::Runner;
use crate::stores::{HarnessServer, UpServer};

/// Records what a started server offers on the stack (URLs for later components, endpoints,
/// notes, examples).
pub type Publish<S> = fn(&UpServer<S>, &mut Stack);

/// The component of one backing server.
pub struct ServerComponent<S: HarnessServer> {
    name: &'static str,
    publish: Publish<S>,
    server: Option<UpServer<S>>,
}

impl<S: HarnessServer> ServerComponent<S> {
    /// The component `name` (as `up` prints it), publishing with `publish` once started.
    pub fn new(name: &'static str, publish: Publish<S>) -> Self {
        Self {
            name,
            publish,
            server: None,
        }
    }
}

impl<S: HarnessServer> Component for ServerComponent<S> {
    fn name(&self) -> &'static str {
        self.name
    }

    fn start<'a>(
        &'a mut self,
        stack: &'a mut Stack,
        _runner: &'a dyn Runner,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let server = self.server.insert(UpServer::<S>::start().await?);
            (self.publish)(server, stack);
            Ok(())
        })
    }

    fn stop<'a>(&'a mut self, _runner: &'a dyn Runner) -> BoxFuture<'a, Result<Option<String>>> {
        Box::pin(async move {
            match self.server.take() {
                Some(server) => server.stop().await.map(Some),
                None => Ok(None),
            }
        })
    }
}
