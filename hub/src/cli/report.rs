//! `hub report`: a hub's own figures, or with --province every centre's.

use chrono::NaiveDate;
use hub_engine::clock::{Clock, SystemClock};
use province::figures::ProvinceBy;
use reports::By;

use super::common::{Format, Installed, ProvinceLink, runtime};

#[derive(clap::Args)]
pub struct Args {
    /// First service day, YYYY-MM-DD.
    #[arg(long)]
    from: NaiveDate,
    /// Last service day, YYYY-MM-DD (default: FROM).
    #[arg(long)]
    to: Option<NaiveDate>,
    /// Lines by (default: total; with --province: centre).
    #[arg(long, value_enum)]
    by: Option<Grouping>,
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    #[command(flatten)]
    installed: Installed,
    /// The province's PostgreSQL (a `postgresql://user@host/db` URL or a libpq string): the
    /// figures of every centre shipped there, computed by the database.
    #[arg(long, value_name = "URL")]
    province: Option<String>,
    #[command(flatten)]
    link: ProvinceLink,
    /// The appointments' figures instead, by day and service: booked, checked in, missed,
    /// cancelled, and how soon after their slot those who came were called.
    #[arg(long, conflicts_with = "by")]
    appointments: bool,
}

/// What a report's lines are: a centre's own groupings, and the province's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Grouping {
    Total,
    Service,
    Counter,
    Staff,
    Priority,
    /// With --province only.
    Centre,
}

impl Grouping {
    fn local(self) -> anyhow::Result<By> {
        Ok(match self {
            Grouping::Total => By::Total,
            Grouping::Service => By::Service,
            Grouping::Counter => By::Counter,
            Grouping::Staff => By::Staff,
            Grouping::Priority => By::Priority,
            Grouping::Centre => anyhow::bail!("--by centre needs --province"),
        })
    }

    fn province(self) -> anyhow::Result<ProvinceBy> {
        Ok(match self {
            Grouping::Centre => ProvinceBy::Centre,
            Grouping::Service => ProvinceBy::Service,
            Grouping::Priority => ProvinceBy::Priority,
            Grouping::Total => ProvinceBy::Total,
            Grouping::Counter | Grouping::Staff => anyhow::bail!(
                "the province's report is by centre, service, priority or total (counters and \
                 staff are each centre's own: ask its hub)"
            ),
        })
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let (from, to) = (args.from, args.to.unwrap_or(args.from));
    anyhow::ensure!(from <= to, "--from must not be after --to");
    match &args.province {
        Some(url) if args.appointments => {
            province_appointments(args.link.to(url), from, to, args.format)
        }
        Some(url) => {
            let by = args.by.unwrap_or(Grouping::Centre).province()?;
            province(args.link.to(url), from, to, by, args.format)
        }
        None if args.appointments => appointments(&args.installed, from, to, args.format),
        None => {
            let by = args.by.unwrap_or(Grouping::Total).local()?;
            local(&args.installed, from, to, by, args.format)
        }
    }
}

fn local(
    installed: &Installed,
    from: NaiveDate,
    to: NaiveDate,
    by: By,
    format: Format,
) -> anyhow::Result<()> {
    let config = installed.config()?;
    let today = config.rules.service_day(SystemClock::new().now());
    let rows = reports::load(&installed.db()?, from, to, today)?;
    let lines = reports::summarize(&rows, by);
    match format {
        Format::Table => {
            println!("{} — {from} … {to}\n", config.center.name);
            print!("{}", reports::table(&lines));
        }
        Format::Csv => print!("{}", reports::csv(&lines)),
    }
    Ok(())
}

fn appointments(
    installed: &Installed,
    from: NaiveDate,
    to: NaiveDate,
    format: Format,
) -> anyhow::Result<()> {
    let rows = reports::load_bookings(&installed.db()?, from, to)?;
    let lines = reports::summarize_bookings(&rows);
    match format {
        Format::Table => {
            let config = installed.config()?;
            println!(
                "{} — lịch hẹn · appointments — {from} … {to}\n",
                config.center.name
            );
            print!("{}", reports::booking_table(&lines));
        }
        Format::Csv => print!("{}", reports::booking_csv(&lines)),
    }
    Ok(())
}

fn province_appointments(
    link: province::Link,
    from: NaiveDate,
    to: NaiveDate,
    format: Format,
) -> anyhow::Result<()> {
    runtime()?.block_on(async {
        let client = link.connect().await?;
        let rows = province::figures::load_bookings(&client, from, to).await?;
        let lines = reports::summarize_bookings(&rows);
        match format {
            Format::Table => {
                println!("Lịch hẹn toàn tỉnh · Province appointments — {from} … {to}\n");
                print!("{}", reports::booking_table(&lines));
            }
            Format::Csv => print!("{}", reports::booking_csv(&lines)),
        }
        Ok(())
    })
}

fn province(
    link: province::Link,
    from: NaiveDate,
    to: NaiveDate,
    by: ProvinceBy,
    format: Format,
) -> anyhow::Result<()> {
    runtime()?.block_on(async {
        let client = link.connect().await?;
        let lines = province::figures::load(&client, from, to, by).await?;
        match format {
            Format::Table => {
                println!("Báo cáo toàn tỉnh · Province report — {from} … {to}\n");
                use province::figures::{centre_names, service_names};
                let names = match by {
                    ProvinceBy::Centre => centre_names(&client).await?,
                    ProvinceBy::Service => service_names(&client).await?,
                    ProvinceBy::Priority | ProvinceBy::Total => vec![],
                };
                for (id, name) in &names {
                    println!("  {id}: {name}");
                }
                if !names.is_empty() {
                    println!();
                }
                print!("{}", reports::table(&lines));
            }
            Format::Csv => print!("{}", reports::csv(&lines)),
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_report_takes_only_its_own_groupings() {
        assert_eq!(Grouping::Staff.local().ok(), Some(By::Staff));
        assert!(Grouping::Centre.local().is_err());
        assert_eq!(Grouping::Centre.province().ok(), Some(ProvinceBy::Centre));
        assert!(Grouping::Counter.province().is_err());
    }
}
