//! The counter app: hub updates and command answers come in on a channel, are applied to the
//! mirror, and the controller's `Screen` is copied into the window. The only code that touches
//! generated Slint types.

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::{Rc, Weak};
use std::sync::mpsc;
use std::time::Duration;

use hub_client::{ClientConfig, CommandError, HubClient, Mirror, Update};
use protocol::{Command, Role};
use slint::{ComponentHandle, ModelRc, SharedString, VecModel};

use crate::controller::{Action, Controller, Screen};
use crate::{AppWindow, Choice, CounterAdapter, CurrentTicket, Enabled, WaitingRow};

#[derive(Debug, Clone)]
pub struct Options {
    pub hub: String,
    pub device: String,
    pub token: String,
    /// Ask the citizen's rating when finishing.
    pub ratings: bool,
    /// Where the last counter and staff code are remembered (never the PIN).
    pub remember: Option<PathBuf>,
}

pub enum Incoming {
    Hub(Update),
    Answer {
        action: Action,
        result: Result<serde_json::Value, CommandError>,
    },
}

pub struct App {
    pub ui: AppWindow,
    pub mirror: Mirror,
    pub ctrl: Controller,
    client: HubClient,
    runtime: tokio::runtime::Handle,
    tx: mpsc::Sender<Incoming>,
    rx: mpsc::Receiver<Incoming>,
    options: Options,
    /// Counter numbers in the order of the login list.
    counter_numbers: Vec<u32>,
    remembered: Option<(u32, String)>,
}

fn action_of(name: &str) -> Option<Action> {
    Some(match name {
        "call_next" => Action::CallNext,
        "recall" => Action::Recall,
        "start" => Action::Start,
        "finish" => Action::Finish,
        "no_show" => Action::NoShow,
        "transfer" => Action::Transfer,
        "pause_resume" => Action::PauseResume,
        "call_number" => Action::CallNumber,
        "logout" => Action::Logout,
        _ => return None,
    })
}

impl App {
    /// Connects to the hub (on `runtime`) and wires the window's callbacks.
    pub fn new(
        ui: AppWindow,
        options: Options,
        runtime: tokio::runtime::Handle,
    ) -> Rc<RefCell<App>> {
        let (tx, rx) = mpsc::channel();
        let config =
            ClientConfig::new(&options.hub, Role::Counter, &options.device, &options.token);
        let (client, mut updates) = {
            let _inside = runtime.enter();
            HubClient::connect(config)
        };
        let forward = tx.clone();
        runtime.spawn(async move {
            while let Some(u) = updates.recv().await {
                if forward.send(Incoming::Hub(u)).is_err() {
                    break;
                }
            }
        });
        let remembered = options.remember.as_ref().and_then(|p| read_remembered(p));
        if let Some((_, staff)) = &remembered {
            ui.global::<CounterAdapter>().set_login_staff(staff.into());
        }
        let app = Rc::new(RefCell::new(App {
            ctrl: Controller::new(&options.device),
            ui: ui.clone_strong(),
            mirror: Mirror::default(),
            client,
            runtime,
            tx,
            rx,
            options,
            counter_numbers: vec![],
            remembered,
        }));
        wire_callbacks(&ui, Rc::downgrade(&app));
        app.borrow().render();
        app
    }

    /// Applies everything that has arrived. Returns whether anything did.
    pub fn pump(&mut self) -> bool {
        let mut any = false;
        while let Ok(m) = self.rx.try_recv() {
            self.handle(m);
            any = true;
        }
        self.render();
        any
    }

    /// Waits up to `timeout` for the next message and applies just that one, so a caller can
    /// see every state in between (tests, the headless snapshot). Returns whether one arrived.
    pub fn pump_wait(&mut self, timeout: Duration) -> bool {
        match self.rx.recv_timeout(timeout) {
            Ok(m) => {
                self.handle(m);
                self.render();
                true
            }
            Err(_) => false,
        }
    }

    /// Pumps until `done` holds for the app, or panics after `timeout` without progress.
    pub fn pump_until(&mut self, timeout: Duration, mut done: impl FnMut(&App) -> bool) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        while !done(self) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return false;
            }
            self.pump_wait(left);
        }
        true
    }

    fn handle(&mut self, m: Incoming) {
        match m {
            Incoming::Hub(update) => {
                let first = !self.mirror.online && matches!(update, Update::Snapshot { .. });
                self.mirror.apply(&update);
                if first || matches!(update, Update::Snapshot { .. }) {
                    self.fill_counter_list();
                }
            }
            Incoming::Answer { action, result } => {
                self.ctrl.busy = false;
                match result {
                    Ok(_) => {
                        self.ctrl.message.clear();
                        let adapter = self.ui.global::<CounterAdapter>();
                        if action == Action::Logout {
                            adapter.set_login_pin(SharedString::new());
                        }
                    }
                    Err(e) => self.ctrl.message = Controller::explain(&e),
                }
            }
        }
    }

    fn fill_counter_list(&mut self) {
        self.counter_numbers = self.mirror.counters.iter().map(|c| c.number).collect();
        let names: Vec<SharedString> = self
            .mirror
            .counters
            .iter()
            .map(|c| c.name.as_str().into())
            .collect();
        let adapter = self.ui.global::<CounterAdapter>();
        adapter.set_counter_names(ModelRc::new(VecModel::from(names)));
        if let Some((n, _)) = &self.remembered
            && let Some(i) = self.counter_numbers.iter().position(|x| x == n)
        {
            adapter.set_login_counter_index(i as i32);
        }
    }

    pub fn screen(&self) -> Screen {
        self.ctrl.screen(&self.mirror, self.now())
    }

    fn now(&self) -> chrono::DateTime<chrono::FixedOffset> {
        let offset = self
            .mirror
            .center
            .as_ref()
            .map_or(chrono::FixedOffset::east_opt(7 * 3600), |c| {
                Some(*c.now.offset())
            });
        chrono::Utc::now().with_timezone(
            &offset.unwrap_or_else(|| chrono::FixedOffset::east_opt(0).expect("UTC")),
        )
    }

    pub fn render(&self) {
        let s = self.screen();
        let a = self.ui.global::<CounterAdapter>();
        a.set_online(s.online);
        a.set_banner(s.banner.as_str().into());
        a.set_busy(self.ctrl.busy);
        a.set_clock(self.now().format("%H:%M").to_string().into());
        a.set_message(self.ctrl.message.as_str().into());
        a.set_logged_in(s.logged_in);
        a.set_counter_title(s.counter_title.as_str().into());
        a.set_staff_name(s.staff_name.as_str().into());
        a.set_paused(s.paused);
        a.set_current(match &s.current {
            Some(c) => CurrentTicket {
                present: true,
                number: c.number.as_str().into(),
                service: c.service.as_str().into(),
                priority: c.priority.as_str().into(),
                status: c.status.as_str().into(),
                waited: c.waited.as_str().into(),
                in_service: c.in_service.as_str().into(),
                overdue: c.overdue,
            },
            None => CurrentTicket::default(),
        });
        let rows: Vec<WaitingRow> = s
            .waiting
            .iter()
            .map(|r| WaitingRow {
                number: r.number.as_str().into(),
                service: r.service.as_str().into(),
                priority: r.priority.as_str().into(),
                waited: r.waited.as_str().into(),
                overdue: r.overdue,
            })
            .collect();
        a.set_waiting(ModelRc::new(VecModel::from(rows)));
        a.set_served(s.served as i32);
        a.set_no_shows(s.no_shows as i32);
        a.set_avg_wait(s.avg_wait.as_str().into());
        a.set_avg_service(s.avg_service.as_str().into());
        let e = s.enabled;
        a.set_enabled(Enabled {
            call_next: e.call_next,
            recall: e.recall,
            start: e.start,
            finish: e.finish,
            no_show: e.no_show,
            transfer: e.transfer,
            pause_resume: e.pause_resume,
            call_number: e.call_number,
            logout: e.logout,
        });
        // A dialog about the current ticket closes when there is none any more.
        let dialog = a.get_dialog();
        let about_ticket = dialog == "transfer" || dialog == "rating";
        if !s.logged_in && !dialog.is_empty() || about_ticket && s.current.is_none() {
            a.set_dialog(SharedString::new());
        }
    }

    /// Sends a command on behalf of an action; its answer comes back through the channel.
    fn send(&mut self, action: Action, command: Command) {
        if self.ctrl.busy {
            return;
        }
        self.ctrl.busy = true;
        self.ctrl.message.clear();
        let client = self.client.clone();
        let tx = self.tx.clone();
        self.runtime.spawn(async move {
            let result = client.send(command).await;
            let _ = tx.send(Incoming::Answer { action, result });
        });
        self.render();
    }

    pub fn action(&mut self, name: &str) {
        let Some(action) = action_of(name) else {
            return;
        };
        let screen = self.screen();
        if !screen.enabled.allows(action) {
            return;
        }
        let adapter = self.ui.global::<CounterAdapter>();
        match action {
            Action::Transfer => {
                self.fill_transfer_choices();
                adapter.set_dialog("transfer".into());
            }
            Action::CallNumber => {
                adapter.set_call_number_text(SharedString::new());
                adapter.set_dialog("call-number".into());
            }
            Action::Finish if self.options.ratings => adapter.set_dialog("rating".into()),
            _ => {
                if let Some(cmd) = self.ctrl.command(action, &screen) {
                    self.send(action, cmd);
                }
            }
        }
    }

    fn fill_transfer_choices(&self) {
        let own = self
            .mirror
            .counter_of_device(&self.options.device)
            .map(|c| c.number);
        let services: Vec<Choice> = self
            .mirror
            .services
            .iter()
            .map(|s| Choice {
                label: s.name_vi.as_str().into(),
                value: s.id.as_str().into(),
            })
            .collect();
        let counters: Vec<Choice> = self
            .mirror
            .counters
            .iter()
            .filter(|c| Some(c.number) != own)
            .map(|c| Choice {
                label: c.name.as_str().into(),
                value: c.number.to_string().into(),
            })
            .collect();
        let a = self.ui.global::<CounterAdapter>();
        a.set_transfer_services(ModelRc::new(VecModel::from(services)));
        a.set_transfer_counters(ModelRc::new(VecModel::from(counters)));
    }

    pub fn transfer(&mut self, kind: &str, value: &str) {
        let command = match kind {
            "service" => Command::Transfer {
                service: Some(value.to_string()),
                counter: None,
            },
            _ => match value.parse() {
                Ok(n) => Command::Transfer {
                    service: None,
                    counter: Some(n),
                },
                Err(_) => return,
            },
        };
        self.ui
            .global::<CounterAdapter>()
            .set_dialog(SharedString::new());
        self.send(Action::Transfer, command);
    }

    pub fn call_number(&mut self) {
        let a = self.ui.global::<CounterAdapter>();
        let number = a.get_call_number_text().trim().to_uppercase();
        if number.is_empty() || number.len() > 12 {
            return;
        }
        a.set_dialog(SharedString::new());
        self.send(Action::CallNumber, Command::CallTicket { number });
    }

    pub fn finish_with(&mut self, rating: i32) {
        self.ui
            .global::<CounterAdapter>()
            .set_dialog(SharedString::new());
        let rating = u8::try_from(rating).ok().filter(|r| (1..=4).contains(r));
        self.send(Action::Finish, Command::Finish { rating });
    }

    pub fn login(&mut self) {
        let a = self.ui.global::<CounterAdapter>();
        let staff = a.get_login_staff().trim().to_string();
        let pin = a.get_login_pin().trim().to_string();
        let index = a.get_login_counter_index();
        let Some(counter) = usize::try_from(index)
            .ok()
            .and_then(|i| self.counter_numbers.get(i))
            .copied()
        else {
            self.ctrl.message = "Chọn quầy. / Choose a counter.".into();
            self.render();
            return;
        };
        if staff.is_empty() || pin.is_empty() {
            self.ctrl.message = "Nhập mã nhân viên và mã PIN. / Enter staff code and PIN.".into();
            self.render();
            return;
        }
        if let Some(path) = &self.options.remember {
            remember(path, counter, &staff);
        }
        a.set_login_pin(SharedString::new());
        self.send(
            Action::Login,
            Command::Login {
                counter,
                staff,
                pin,
            },
        );
    }
}

fn wire_callbacks(ui: &AppWindow, app: Weak<RefCell<App>>) {
    let a = ui.global::<CounterAdapter>();
    let w = app.clone();
    a.on_action(move |name| {
        if let Some(app) = w.upgrade() {
            app.borrow_mut().action(name.as_str());
        }
    });
    let w = app.clone();
    a.on_transfer(move |kind, value| {
        if let Some(app) = w.upgrade() {
            app.borrow_mut().transfer(kind.as_str(), value.as_str());
        }
    });
    let w = app.clone();
    a.on_call_number(move || {
        if let Some(app) = w.upgrade() {
            app.borrow_mut().call_number();
        }
    });
    let w = app.clone();
    a.on_finish_with(move |r| {
        if let Some(app) = w.upgrade() {
            app.borrow_mut().finish_with(r);
        }
    });
    a.on_login(move || {
        if let Some(app) = app.upgrade() {
            app.borrow_mut().login();
        }
    });
}

/// `counter staff` on one line.
fn read_remembered(path: &std::path::Path) -> Option<(u32, String)> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut parts = text.split_whitespace();
    let counter = parts.next()?.parse().ok()?;
    let staff = parts
        .next()?
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    Some((counter, staff))
}

fn remember(path: &std::path::Path, counter: u32, staff: &str) {
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if let Err(e) = std::fs::write(path, format!("{counter} {staff}\n")) {
        tracing::warn!(error = %e, "cannot remember the counter");
    }
}
