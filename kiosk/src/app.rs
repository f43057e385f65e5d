//! The kiosk app: hub updates, the hub's answers and the printer's results arrive on one channel
//! and are applied on the UI thread; the controller's state is copied into the window. The only
//! code that touches generated Slint types.

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::{Rc, Weak};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use hub_client::{ClientConfig, CommandError, HubClient, Mirror, Update};
use protocol::{Command, ErrorCode, Role, Ticket};
use slint::{ComponentHandle, ModelRc, SharedString, VecModel};

use crate::cccd::ScanBuffer;
use crate::controller::{Controller, IssueRequest, PrintState, Step};
use crate::printer::{PrintError, PrinterSpec};
use crate::ticket::TicketContent;
use crate::{CategoryTile, KioskAdapter, KioskWindow, ServiceTile};

#[derive(Debug, Clone)]
pub struct Options {
    pub hub: String,
    pub device: String,
    pub token: String,
    /// No printer: the screen shows the number and says so.
    pub printer: Option<PrinterSpec>,
    /// Back to the services screen after this long without a touch.
    pub idle: Duration,
    /// Also save each printed ticket as a PNG here (the demo, to look at tickets).
    pub save_tickets: Option<PathBuf>,
}

pub enum Incoming {
    Hub(Update),
    Issued(Result<Ticket, CommandError>),
    Printed(Result<(), PrintError>),
}

pub struct App {
    pub ui: KioskWindow,
    pub mirror: Mirror,
    pub ctrl: Controller,
    client: HubClient,
    runtime: tokio::runtime::Handle,
    tx: mpsc::Sender<Incoming>,
    rx: mpsc::Receiver<Incoming>,
    options: Options,
    scan: ScanBuffer,
    /// The status last reported to the hub (`ok`, `paper_out`, …).
    printer_status: String,
    /// Requests sent to the hub (what the tests count).
    pub requests_sent: u32,
}

impl App {
    pub fn new(
        ui: KioskWindow,
        options: Options,
        runtime: tokio::runtime::Handle,
    ) -> Rc<RefCell<App>> {
        let (tx, rx) = mpsc::channel();
        let mut config =
            ClientConfig::new(&options.hub, Role::Kiosk, &options.device, &options.token);
        // A kiosk shows counts per service, never the list of waiting tickets.
        config.light = true;
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
        let app = Rc::new(RefCell::new(App {
            ctrl: Controller::new(options.idle, Instant::now()),
            ui: ui.clone_strong(),
            mirror: Mirror::default(),
            client,
            runtime,
            tx,
            rx,
            options,
            scan: ScanBuffer::default(),
            printer_status: String::new(),
            requests_sent: 0,
        }));
        wire_callbacks(&ui, Rc::downgrade(&app));
        app.borrow().render();
        app
    }

    /// Applies everything that has arrived, runs the idle clock, and redraws.
    pub fn pump(&mut self) {
        while let Ok(m) = self.rx.try_recv() {
            self.handle(m);
        }
        if self.ctrl.tick(Instant::now()) {
            self.scan.clear();
        }
        self.render();
    }

    /// Waits up to `timeout` for one message and applies it. Returns whether one came.
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

    /// Runs the idle clock at `now` (tests use a future instant instead of waiting).
    pub fn tick_at(&mut self, now: Instant) {
        if self.ctrl.tick(now) {
            self.scan.clear();
        }
        self.render();
    }

    fn handle(&mut self, m: Incoming) {
        match m {
            Incoming::Hub(u) => {
                self.mirror.apply(&u);
            }
            Incoming::Issued(result) => {
                let result = result.map_err(|e| refusal(&e));
                let ok = result.as_ref().ok().cloned();
                self.ctrl.issued(result, Instant::now());
                if let Some(ticket) = ok {
                    self.print(&ticket);
                }
            }
            Incoming::Printed(result) => {
                let status = match &result {
                    Ok(()) => "ok",
                    Err(e) => {
                        tracing::warn!("printing failed: {e}");
                        e.status()
                    }
                };
                self.ctrl.printed(result.is_ok(), Instant::now());
                self.report_printer(status);
            }
        }
    }

    fn request(&mut self, r: IssueRequest) {
        self.requests_sent += 1;
        let client = self.client.clone();
        let tx = self.tx.clone();
        // One command id for this press: the client resends it unchanged after a reconnect, and
        // the hub answers a repeated id with the first answer.
        self.runtime.spawn(async move {
            let result = client
                .send(Command::IssueTicket {
                    service: r.service,
                    priority: r.priority,
                })
                .await
                .and_then(|v| {
                    serde_json::from_value::<Ticket>(v["ticket"].clone()).map_err(|e| {
                        CommandError::Rejected(protocol::ErrorBody {
                            code: ErrorCode::Internal,
                            message: format!("unreadable ticket: {e}"),
                        })
                    })
                });
            let _ = tx.send(Incoming::Issued(result));
        });
    }

    fn print(&mut self, ticket: &Ticket) {
        let content = self.content(ticket);
        let Some(printer) = self.options.printer.clone() else {
            self.ctrl.printed(false, Instant::now());
            return;
        };
        if let Some(dir) = &self.options.save_tickets {
            let png = dir.join(format!("{}.png", ticket.number));
            if let Err(e) = crate::ticket::render(&content, printer.dots).save(&png) {
                tracing::warn!("saving {}: {e}", png.display());
            }
        }
        let tx = self.tx.clone();
        // Printers are slow and may hang: never on the UI thread.
        std::thread::spawn(move || {
            let _ = tx.send(Incoming::Printed(printer.print(&content)));
        });
    }

    /// Tells the hub when the printer's state changes (and once at the first print).
    fn report_printer(&mut self, status: &str) {
        if self.printer_status == status {
            return;
        }
        self.printer_status = status.to_string();
        let client = self.client.clone();
        let status = status.to_string();
        self.runtime.spawn(async move {
            if let Err(e) = client.send(Command::DeviceStatus { status }).await {
                tracing::warn!("device_status not accepted: {e}");
            }
        });
    }

    /// What the printed ticket says.
    pub fn content(&self, t: &Ticket) -> TicketContent {
        let center = self.mirror.center.as_ref();
        let tz: chrono_tz::Tz = center
            .and_then(|c| c.timezone.parse().ok())
            .unwrap_or(chrono_tz::Asia::Ho_Chi_Minh);
        TicketContent {
            center: center.map(|c| c.name.clone()).unwrap_or_default(),
            service: self.mirror.service_name(&t.service),
            number: t.number.clone(),
            priority: t.priority.as_ref().map(|p| self.category_name(p)),
            issued: t
                .issued_at
                .with_timezone(&tz)
                .format("%d/%m/%Y %H:%M")
                .to_string(),
            ahead: t.ahead,
            eta_min: t.eta_min,
            track_url: match (center.and_then(|c| c.public_url.as_ref()), &t.track) {
                (Some(url), Some(track)) => {
                    Some(format!("{}/t/{track}", url.trim_end_matches('/')))
                }
                _ => None,
            },
        }
    }

    fn category_name(&self, id: &str) -> String {
        self.mirror
            .categories
            .iter()
            .find(|c| c.id == id)
            .map_or_else(|| id.to_string(), |c| c.name_vi.clone())
    }

    fn service_day(&self) -> Option<chrono::NaiveDate> {
        let day = &self.mirror.center.as_ref()?.service_day;
        chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()
    }

    pub fn choose_service(&mut self, id: &str) {
        if let Some(r) = self.ctrl.choose_service(&self.mirror, id, Instant::now()) {
            self.request(r);
        }
        self.scan.clear();
        self.render();
    }

    pub fn choose_category(&mut self, id: &str) {
        let category = (!id.is_empty()).then_some(id);
        if let Some(r) = self.ctrl.choose_category(category, Instant::now()) {
            self.request(r);
        }
        self.render();
    }

    pub fn back(&mut self) {
        self.ctrl.back(Instant::now());
        self.scan.clear();
        self.render();
    }

    /// A key from a QR reader (or a stray keyboard). The text is dropped after the decision.
    pub fn key(&mut self, text: &str) {
        if let Some(scan) = self.scan.key(text) {
            let day = self.service_day();
            if let Some(r) = self.ctrl.scanned(&scan, day, Instant::now()) {
                self.request(r);
            }
        }
        self.render();
    }

    pub fn render(&self) {
        let a = self.ui.global::<KioskAdapter>();
        let english = self.ctrl.english;
        let m = &self.mirror;
        a.set_english(english);
        a.set_online(m.online);
        a.set_issuing(self.ctrl.issuing);
        a.set_message(self.ctrl.message.as_str().into());
        let center = m.center.as_ref();
        a.set_center(
            center
                .map(|c| {
                    if english {
                        c.name_en.as_str()
                    } else {
                        c.name.as_str()
                    }
                })
                .unwrap_or_default()
                .into(),
        );
        let tz: chrono_tz::Tz = center
            .and_then(|c| c.timezone.parse().ok())
            .unwrap_or(chrono_tz::Asia::Ho_Chi_Minh);
        let now: DateTime<Utc> = Utc::now();
        a.set_clock(now.with_timezone(&tz).format("%H:%M").to_string().into());
        let services: Vec<ServiceTile> = m
            .services
            .iter()
            .map(|s| {
                let (name, sub) = if english {
                    (&s.name_en, &s.name_vi)
                } else {
                    (&s.name_vi, &s.name_en)
                };
                let reason = match s.state {
                    protocol::ServiceState::SoldOut => {
                        pick(english, "Đã hết số hôm nay", "No more numbers today")
                    }
                    protocol::ServiceState::Closed => {
                        pick(english, "Ngoài giờ tiếp nhận", "Closed now")
                    }
                    protocol::ServiceState::Open => "",
                };
                ServiceTile {
                    id: s.id.as_str().into(),
                    name: name.as_str().into(),
                    sub: sub.as_str().into(),
                    waiting: i32::try_from(s.waiting).unwrap_or(i32::MAX),
                    eta: s
                        .eta_min
                        .filter(|e| *e > 0)
                        .map(|e| {
                            SharedString::from(format!("{e} {}", pick(english, "phút", "min")))
                        })
                        .unwrap_or_default(),
                    available: Controller::available(m, &s.id),
                    reason: reason.into(),
                }
            })
            .collect();
        a.set_services(ModelRc::new(VecModel::from(services)));
        let mut categories = vec![CategoryTile {
            id: SharedString::new(),
            name: pick(english, "Công dân", "Citizen").into(),
            sub: pick(english, "Số thường", "Normal ticket").into(),
        }];
        categories.extend(m.categories.iter().map(|c| {
            CategoryTile {
                id: c.id.as_str().into(),
                name: if english {
                    c.name_en.as_str()
                } else {
                    c.name_vi.as_str()
                }
                .into(),
                sub: pick(english, "Ưu tiên", "Priority").into(),
            }
        }));
        a.set_categories(ModelRc::new(VecModel::from(categories)));
        match &self.ctrl.step {
            Step::Services => a.set_step(0),
            Step::Category { service } => {
                a.set_step(1);
                let name = m
                    .service(service)
                    .map(|s| {
                        if english {
                            s.name_en.clone()
                        } else {
                            s.name_vi.clone()
                        }
                    })
                    .unwrap_or_default();
                a.set_chosen_service(name.into());
            }
            Step::Ticket => a.set_step(2),
        }
        if let Some(i) = &self.ctrl.issued {
            let t = &i.ticket;
            a.set_ticket_number(t.number.as_str().into());
            let service = m
                .service(&t.service)
                .map(|s| {
                    if english {
                        s.name_en.clone()
                    } else {
                        s.name_vi.clone()
                    }
                })
                .unwrap_or_default();
            a.set_ticket_service(service.into());
            let priority = t
                .priority
                .as_ref()
                .map(|p| {
                    m.categories
                        .iter()
                        .find(|c| &c.id == p)
                        .map(|c| {
                            if english {
                                c.name_en.clone()
                            } else {
                                c.name_vi.clone()
                            }
                        })
                        .unwrap_or_else(|| p.clone())
                })
                .unwrap_or_default();
            a.set_ticket_priority(priority.into());
            a.set_ticket_ahead(i32::try_from(t.ahead.unwrap_or(0)).unwrap_or(i32::MAX));
            a.set_ticket_eta(
                t.eta_min
                    .filter(|e| *e > 0)
                    .map(|e| format!("{e} {}", pick(english, "phút", "min")))
                    .unwrap_or_default()
                    .into(),
            );
            a.set_print_state(match i.print {
                PrintState::Printing => 0,
                PrintState::Printed => 1,
                PrintState::Failed => 2,
            });
        }
    }
}

fn pick(english: bool, vi: &'static str, en: &'static str) -> &'static str {
    if english { en } else { vi }
}

/// Why the hub did not issue a ticket, for the citizen.
fn refusal(e: &CommandError) -> String {
    match e.code() {
        Some(ErrorCode::ServiceClosed) => {
            "Lĩnh vực này hiện không tiếp nhận. Xin vui lòng hỏi cán bộ hướng dẫn.".into()
        }
        Some(ErrorCode::DailyLimitReached) => "Lĩnh vực này đã hết số hôm nay.".into(),
        Some(ErrorCode::UnknownService) => "Lĩnh vực không còn trong danh sách.".into(),
        _ => "Chưa cấp được số, xin vui lòng thử lại.".into(),
    }
}

/// Runs `f` on the app if it still exists and is not busy (a callback from inside a render).
fn with_app(app: &Weak<RefCell<App>>, f: impl FnOnce(&mut App)) {
    if let Some(app) = app.upgrade()
        && let Ok(mut app) = app.try_borrow_mut()
    {
        f(&mut app);
    }
}

fn wire_callbacks(ui: &KioskWindow, app: Weak<RefCell<App>>) {
    let a = ui.global::<KioskAdapter>();
    let w = app.clone();
    a.on_choose_service(move |id| with_app(&w, |app| app.choose_service(&id)));
    let w = app.clone();
    a.on_choose_category(move |id| with_app(&w, |app| app.choose_category(&id)));
    let w = app.clone();
    a.on_back(move || with_app(&w, App::back));
    let w = app.clone();
    a.on_toggle_language(move || {
        with_app(&w, |app| {
            app.ctrl.toggle_language(Instant::now());
            app.render();
        })
    });
    let w = app.clone();
    a.on_touched(move || with_app(&w, |app| app.ctrl.touched(Instant::now())));
    a.on_key(move |text| with_app(&app, |app| app.key(&text)));
}
