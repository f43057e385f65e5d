//! The board app: hub updates arrive on a channel, go to the board's state and to the call
//! watcher, and the screen is copied into the window. The only code that touches generated
//! Slint types.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use hub_client::{ClientConfig, HubClient, Update};
use protocol::Role;
use slint::{ComponentHandle, ModelRc, SharedString, VecModel};

use crate::announcer::{Announcement, Announcer, CallWatcher};
use crate::board::{Board, CallRow, Filter, Screen};
use crate::{BoardAdapter, BoardWindow, CallItem, ServiceItem};

#[derive(Debug, Clone)]
pub struct Options {
    pub hub: String,
    pub device: String,
    pub token: String,
    pub filter: Filter,
}

pub struct App {
    pub ui: BoardWindow,
    pub board: Board,
    watcher: CallWatcher,
    announcer: Option<Announcer>,
    /// Every announcement decided, in order (what the tests and the log look at).
    pub announced: Vec<Announcement>,
    rx: mpsc::Receiver<Update>,
    _client: HubClient,
    shown: Option<Screen>,
}

impl App {
    /// Connects to the hub on `runtime`. Without an announcer the board is silent.
    pub fn new(
        ui: BoardWindow,
        options: Options,
        announcer: Option<Announcer>,
        runtime: &tokio::runtime::Handle,
    ) -> App {
        let (tx, rx) = mpsc::channel();
        let mut config =
            ClientConfig::new(&options.hub, Role::Display, &options.device, &options.token);
        // A board shows counts per service, never the list of waiting tickets.
        config.light = true;
        let (client, mut updates) = {
            let _inside = runtime.enter();
            HubClient::connect(config)
        };
        runtime.spawn(async move {
            while let Some(u) = updates.recv().await {
                if tx.send(u).is_err() {
                    break;
                }
            }
        });
        let mut app = App {
            ui,
            board: Board::new(options.filter),
            watcher: CallWatcher::default(),
            announcer,
            announced: vec![],
            rx,
            _client: client,
            shown: None,
        };
        app.render();
        app
    }

    /// Applies everything that has arrived and redraws. Call it from a timer.
    pub fn pump(&mut self) {
        while let Ok(u) = self.rx.try_recv() {
            self.handle(u);
        }
        self.render();
    }

    /// Waits up to `timeout` for one update and applies it. Returns whether one came.
    pub fn pump_wait(&mut self, timeout: Duration) -> bool {
        match self.rx.recv_timeout(timeout) {
            Ok(u) => {
                self.handle(u);
                self.render();
                true
            }
            Err(_) => false,
        }
    }

    /// Pumps until `done` holds, or gives up after `timeout`. Returns whether it held.
    pub fn pump_until(&mut self, timeout: Duration, mut done: impl FnMut(&App) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        while !done(self) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            self.pump_wait(left);
        }
        true
    }

    fn handle(&mut self, update: Update) {
        if let Some(news) = self
            .watcher
            .on_update(&update, &self.board.filter, chrono::Utc::now())
        {
            self.board.flash(&news.label, Instant::now());
            if let Some(a) = &self.announcer {
                a.announce(news.clone());
            }
            self.announced.push(news);
        }
        self.board.apply(&update);
    }

    /// Copies the board's screen into the window when it changed.
    pub fn render(&mut self) {
        let screen = self.board.screen(Instant::now(), chrono::Utc::now());
        if self.shown.as_ref() == Some(&screen) {
            return;
        }
        let a = self.ui.global::<BoardAdapter>();
        a.set_center(screen.center.as_str().into());
        a.set_center_en(screen.center_en.as_str().into());
        a.set_date(screen.date.as_str().into());
        a.set_clock(screen.clock.as_str().into());
        a.set_online(screen.online);
        a.set_offline_reason(screen.offline_reason.as_str().into());
        a.set_calling(items(&screen.calling));
        a.set_history(items(&screen.history));
        let services: Vec<ServiceItem> = screen
            .services
            .iter()
            .map(|s| ServiceItem {
                id: s.id.as_str().into(),
                name: s.name_vi.as_str().into(),
                name_en: s.name_en.as_str().into(),
                waiting: clamp(s.waiting),
                overdue: clamp(s.overdue),
                eta: s
                    .eta_min
                    .filter(|_| s.waiting > 0)
                    .map(|m| SharedString::from(format!("~{m} phút")))
                    .unwrap_or_default(),
                open: s.open,
            })
            .collect();
        a.set_services(ModelRc::new(VecModel::from(services)));
        a.set_notice(screen.notice.as_str().into());
        a.set_flashing(screen.flashing.as_deref().unwrap_or_default().into());
        self.shown = Some(screen);
    }
}

fn clamp(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn items(rows: &[CallRow]) -> ModelRc<CallItem> {
    let items: Vec<CallItem> = rows
        .iter()
        .map(|r| CallItem {
            number: r.number.as_str().into(),
            counter: clamp(r.counter),
            service: r.service.as_str().into(),
            serving: r.serving,
        })
        .collect();
    ModelRc::new(VecModel::from(items))
}
