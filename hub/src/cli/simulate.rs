//! `hub simulate`: a what-if day through the queue rules.

use std::path::PathBuf;

use queue_core::{CounterNo, ServiceId};

#[derive(clap::Args)]
pub struct Args {
    /// Centre configuration (TOML); a what-if run harms nothing, so the demo centre by default.
    #[arg(long, default_value = hub::DEMO_BY_NAME)]
    config: PathBuf,
    /// Simulated hours from --start.
    #[arg(long, default_value_t = 8.0)]
    hours: f64,
    /// Arrivals per hour: SERVICE=PER_HOUR (repeat; default 6 an hour for every service).
    #[arg(long, value_parser = parse_arrival)]
    arrivals: Vec<(ServiceId, f64)>,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The simulated service day (a date: the rules' hours and weekdays apply).
    #[arg(long, default_value = "2026-11-23")]
    day: chrono::NaiveDate,
    /// Local opening time.
    #[arg(long, default_value = "07:30")]
    start: chrono::NaiveTime,
    /// Give a counter other services: N=SERVICE,SERVICE (repeat). "Moving a clerk".
    #[arg(long, value_parser = parse_counter)]
    counter: Vec<(CounterNo, Vec<ServiceId>)>,
    /// Counters without a clerk (repeat).
    #[arg(long)]
    close: Vec<u32>,
    /// Share of priority tickets (0–1).
    #[arg(long, default_value_t = 0.15)]
    priority_share: f64,
    /// Share of called citizens who do not come (0–1).
    #[arg(long, default_value_t = 0.05)]
    no_show_share: f64,
    #[arg(long, value_enum, default_value = "service")]
    by: reports::By,
}

fn parse_arrival(s: &str) -> Result<(ServiceId, f64), String> {
    let (service, rate) = s
        .split_once('=')
        .ok_or("use SERVICE=PER_HOUR, e.g. TP=12")?;
    let rate: f64 = rate
        .trim()
        .parse()
        .map_err(|_| format!("{rate:?} is not a number"))?;
    Ok((service.trim().into(), rate))
}

fn parse_counter(s: &str) -> Result<(CounterNo, Vec<ServiceId>), String> {
    let (n, services) = s
        .split_once('=')
        .ok_or("use N=SERVICE,SERVICE, e.g. 5=TP,GTVT")?;
    let n: u32 = n
        .trim()
        .parse()
        .map_err(|_| format!("{n:?} is not a counter number"))?;
    let services: Vec<ServiceId> = services
        .split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(ServiceId::from)
        .collect();
    if services.is_empty() {
        return Err("a counter needs at least one service".into());
    }
    Ok((CounterNo(n), services))
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let config = hub::load_config(&args.config)?;
    let arrivals = if args.arrivals.is_empty() {
        let services = config.rules.services.keys();
        services.map(|s| (s.clone(), 6.0)).collect()
    } else {
        args.arrivals
    };
    let (day, start, hours, seed) = (args.day, args.start, args.hours, args.seed);
    let options = simulator::Options {
        day,
        start,
        hours,
        arrivals,
        seed,
        priority_share: args.priority_share,
        no_show_share: args.no_show_share,
        counters: args.counter,
        closed: args.close.into_iter().map(CounterNo).collect(),
    };
    let outcome = simulator::run(&config.rules, &options)?;
    println!(
        "{} — simulated {day} from {start} for {hours} h, seed {seed}\n",
        config.center.name
    );
    let lines = reports::summarize(&outcome.rows, args.by);
    print!("{}", reports::table(&lines));
    println!(
        "\nHàng chờ theo giờ (số đang chờ cuối giờ / thời gian chờ TB của số lấy trong giờ):\n"
    );
    print!("{}", simulator::hours_table(&config.rules, &outcome.hours));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrivals_and_counters_are_read_or_refused_with_the_form_to_use() {
        assert_eq!(parse_arrival("TP=12"), Ok(("TP".into(), 12.0)));
        assert!(
            parse_arrival("TP")
                .unwrap_err()
                .contains("SERVICE=PER_HOUR")
        );
        assert_eq!(
            parse_counter("5=TP, GTVT"),
            Ok((CounterNo(5), vec!["TP".into(), "GTVT".into()]))
        );
        assert!(parse_counter("5=").is_err());
        assert!(parse_counter("five=TP").is_err());
    }
}
