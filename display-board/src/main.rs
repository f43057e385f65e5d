//! `display-board --hub ws://HOST:PORT/ws --device display-1 --token-file /etc/hang-doi/token`
//! `display-board announce NUMBER COUNTER [--wav FILE]`

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use app_shell::{HubArgs, Pump, snapshot};
use clap::{Parser, Subcommand};
use display_board::BoardWindow;
use display_board::announcer::{Announcer, AplaySpeaker, SilentSpeaker, Speaker};
use display_board::app::{App, Options};
use display_board::board::Filter;
use display_board::speech;
use display_board::voice::Voice;
use slint::ComponentHandle;

#[derive(Parser)]
#[command(
    // A flag given twice takes its last value: the --config file's come first.
    args_override_self = true,
    name = "display-board",
    version,
    about = "The lobby's wall screen of a public administration service centre, with its voice",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Tool>,
    #[command(flatten)]
    hub: HubArgs,
    /// Show only these counters, e.g. `1,2,5`.
    #[arg(long)]
    counters: Option<String>,
    /// Show only these services, e.g. `TP,GTVT`.
    #[arg(long)]
    services: Option<String>,
    /// A folder of the centre's own voice clips (same names as assets/voice/vi/).
    #[arg(long)]
    voice: Option<PathBuf>,
    /// Do not announce calls.
    #[arg(long)]
    mute: bool,
    /// Show no mouse pointer (a wall screen; the installed board.toml says so).
    #[arg(long)]
    hide_pointer: bool,
    /// Render the screen to this PNG without a window once the hub's state has arrived, and exit.
    #[arg(long)]
    snapshot: Option<PathBuf>,
    /// With --snapshot: the screen size.
    #[arg(long, default_value = "1920x1080")]
    size: String,
}

#[derive(Subcommand)]
enum Tool {
    /// Print the sentence said for a call and, with --wav, write the sound as it would be played.
    Announce {
        /// The ticket, e.g. 1005 or A1005.
        number: String,
        /// The counter's number.
        counter: u32,
        /// Write the announcement (chime and voice) to this WAV file.
        #[arg(long)]
        wav: Option<PathBuf>,
        /// A folder of the centre's own voice clips.
        #[arg(long)]
        voice: Option<PathBuf>,
        /// Also play it on this machine's speaker.
        #[arg(long)]
        play: bool,
    },
}

fn main() -> std::process::ExitCode {
    app_shell::run("display-board", run)
}

fn run() -> anyhow::Result<()> {
    let cli: Cli = app_shell::parse_args(&["announce"])?;
    if let Some(Tool::Announce {
        number,
        counter,
        wav,
        voice,
        play,
    }) = &cli.command
    {
        return announce(number, *counter, wav.as_deref(), voice.as_deref(), *play);
    }
    let filter =
        Filter::parse(cli.counters.as_deref(), cli.services.as_deref()).context("--counters")?;
    let options = Options {
        connection: cli.hub.connection("display-1")?,
        filter,
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the runtime")?;
    if let Some(path) = &cli.snapshot {
        return run_snapshot(&cli, options, runtime.handle(), path);
    }
    let voice = Voice::new(cli.voice.as_deref()).context("--voice")?;
    let speaker: Box<dyn Speaker> = if cli.mute {
        Box::new(SilentSpeaker)
    } else {
        Box::new(AplaySpeaker)
    };
    let announcer = Announcer::start(voice, speaker, None);
    let ui = BoardWindow::new().context("creating the window (is a display available?)")?;
    let app = std::rc::Rc::new(std::cell::RefCell::new(App::new(
        ui.clone_strong(),
        options,
        Some(announcer),
        runtime.handle(),
    )));
    app.borrow().hide_pointer(cli.hide_pointer);
    app_shell::run_window(&ui, move || {
        app.borrow_mut().pump();
    })
}

fn announce(
    number: &str,
    counter: u32,
    wav: Option<&Path>,
    voice: Option<&Path>,
    play: bool,
) -> anyhow::Result<()> {
    let sentence = speech::call_sentence(number, counter)?;
    println!("{sentence}");
    if wav.is_none() && !play {
        return Ok(());
    }
    let mut voice = Voice::new(voice)?;
    let sound = voice.render(&speech::call_clips(number, counter)?)?;
    if let Some(path) = wav {
        sound.write_wav(path)?;
        eprintln!("{} ({:.1} s)", path.display(), sound.seconds());
    }
    if play {
        AplaySpeaker
            .play(&sound)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    Ok(())
}

fn run_snapshot(
    cli: &Cli,
    options: Options,
    runtime: &tokio::runtime::Handle,
    path: &Path,
) -> anyhow::Result<()> {
    let (w, h) = snapshot::parse_size(&cli.size).context("--size")?;
    let window = snapshot::install(w, h)?;
    let ui = BoardWindow::new()?;
    let mut app = App::new(ui.clone_strong(), options, None, runtime);
    anyhow::ensure!(
        app.pump_until(Duration::from_secs(15), |a| a.board.mirror.online),
        "no state from the hub at {}",
        cli.hub.hub
    );
    app.render();
    ui.show()?;
    snapshot::write_png(&window, path)?;
    println!("{}", path.display());
    Ok(())
}
