//! `hub province-schema`.

use super::common::{ProvinceLink, runtime};

#[derive(clap::Args)]
pub struct Args {
    /// The province's PostgreSQL (URL or libpq string).
    #[arg(long, value_name = "URL")]
    province: String,
    #[command(flatten)]
    link: ProvinceLink,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let link = args.link.to(&args.province);
    runtime()?.block_on(async {
        let mut client = link.connect().await?;
        let version = province::schema::migrate(&mut client).await?;
        println!("the province's schema is at version {version}");
        Ok(())
    })
}
