//! The `bookings` binary: see [`cinema::cli::main_for`].

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    cinema::cli::main_for(cinema::Service::Bookings).await
}
