//! The `event-consumer` binary: [`events::consumer::main_from_env`].

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    events::consumer::main_from_env().await
}
