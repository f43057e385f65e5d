//! The board app's glue, and the only code that touches generated Slint types: hub updates
//! arrive in the inbox, go to the board's state and to the call watcher, and the screen is
//! copied into the window.

use std::time::Instant;

use app_shell::{Connection, Inbox, Pump};
use hub_client::{HubClient, Update};
use protocol::Role;
use slint::{ComponentHandle, ModelRc, SharedString, VecModel};

use crate::announcer::{Announcement, Announcer, CallWatcher};
use crate::board::{Board, CallRow, Filter, Screen};
use crate::{BoardAdapter, BoardWindow, CallItem, ServiceItem};

#[derive(Debug, Clone)]
pub struct Options {
    pub connection: Connection,
    pub filter: Filter,
}

pub struct App {
    pub ui: BoardWindow,
    pub board: Board,
    watcher: CallWatcher,
    announcer: Option<Announcer>,
    /// Every announcement decided, in order (what the tests and the log look at).
    pub announced: Vec<Announcement>,
    inbox: Inbox<Update>,
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
        let inbox = Inbox::new();
        // A board shows counts per service, never the list of waiting tickets.
        let client = app_shell::connect(&options.connection, Role::Display, true, runtime, &inbox);
        let mut app = App {
            ui,
            board: Board::new(options.filter),
            watcher: CallWatcher::default(),
            announcer,
            announced: vec![],
            inbox,
            _client: client,
            shown: None,
        };
        app.render();
        app
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
        a.set_switching(screen.switching);
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

impl Pump for App {
    type Message = Update;

    fn inbox(&self) -> &Inbox<Update> {
        &self.inbox
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

    fn refresh(&mut self) {
        self.render();
    }
}

impl App {
    /// Hides the mouse pointer over the board (a wall screen: `--hide-pointer`).
    pub fn hide_pointer(&self, hide: bool) {
        self.ui.global::<BoardAdapter>().set_hide_pointer(hide);
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
