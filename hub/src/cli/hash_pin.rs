//! `hub hash-pin`: the Argon2 hash of a PIN read from standard input.

use std::io::BufRead;

use anyhow::Context;

pub fn run() -> anyhow::Result<()> {
    let mut pin = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut pin)
        .context("reading the PIN")?;
    let pin = pin.trim();
    anyhow::ensure!(
        pin.len() >= 4 && pin.chars().all(|c| c.is_ascii_digit()),
        "a PIN is at least 4 digits"
    );
    println!(
        "{}",
        centre_config::auth::hash_pin(pin).map_err(anyhow::Error::msg)?
    );
    Ok(())
}
