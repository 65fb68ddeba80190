//! Rebuilds the crate when the SQL it embeds changes (`sqlx::migrate!` cannot tell cargo).

fn main() {
    println!("cargo:rerun-if-changed=../../sql/migrations");
    println!("cargo:rerun-if-changed=../../sql/testdata.sql");
}
