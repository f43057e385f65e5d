//! The kiosk app's glue, and the only code that touches generated Slint types: hub updates, the
//! hub's answers and the printer's results arrive in the inbox and go to the mirror and the
//! controller; the screen model is copied into the window; the controller's effects are carried
//! out (a command to the hub, a print job on its own thread, a status report).

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::{Rc, Weak};
use std::time::{Duration, Instant};

use app_shell::{Connection, Inbox, Pump, with_app};
use hub_client::{CommandError, HubClient, Mirror, Update};
use protocol::{Command, ErrorCode, Role, Ticket};
use slint::{ComponentHandle, ModelRc, SharedString, VecModel};

use crate::controller::{Controller, Effect, IssueRequest, PrintState};
use crate::printer::{PrintError, PrinterSpec};
use crate::screen::{self, Page};
use crate::spool::{PRINT_TIMEOUT, Spooler};
use crate::ticket::TicketContent;
use crate::{
    CategoryTile, KioskAdapter, KioskWindow, Page as UiPage, PrintState as UiPrintState,
    ServiceTile,
};

#[derive(Debug, Clone)]
pub struct Options {
    pub connection: Connection,
    /// No printer: the screen shows the number and says so.
    pub printer: Option<PrinterSpec>,
    /// Back to the services screen after this long without a touch.
    pub idle: Duration,
    /// Also save each printed ticket as a PNG here (the demo, to look at tickets).
    pub save_tickets: Option<PathBuf>,
}

pub enum Incoming {
    Hub(Update),
    Issued(Result<Box<Ticket>, CommandError>),
    Printed(Result<(), PrintError>),
    /// The hub did not take the printer's status (too soon after the last change): it is
    /// reported again with the next print.
    StatusNotReported,
}

impl From<Update> for Incoming {
    fn from(u: Update) -> Incoming {
        Incoming::Hub(u)
    }
}

pub struct App {
    pub ui: KioskWindow,
    pub mirror: Mirror,
    pub ctrl: Controller,
    client: HubClient,
    runtime: tokio::runtime::Handle,
    inbox: Inbox<Incoming>,
    printer: Option<Spooler>,
    save_tickets: Option<PathBuf>,
    /// Requests sent to the hub (what the tests count).
    pub requests_sent: u32,
}

impl App {
    pub fn new(
        ui: KioskWindow,
        options: Options,
        runtime: tokio::runtime::Handle,
    ) -> Rc<RefCell<App>> {
        let inbox = Inbox::new();
        // A kiosk shows counts per service, never the list of waiting tickets.
        let client = app_shell::connect(&options.connection, Role::Kiosk, true, &runtime, &inbox);
        let app = Rc::new(RefCell::new(App {
            ctrl: Controller::new(options.idle, options.printer.is_some(), Instant::now()),
            ui: ui.clone_strong(),
            mirror: Mirror::default(),
            client,
            runtime,
            inbox,
            printer: options.printer.map(Spooler::start),
            save_tickets: options.save_tickets,
            requests_sent: 0,
        }));
        wire_callbacks(&ui, Rc::downgrade(&app));
        {
            // What does not change: the check-in keyboard and its pictograms.
            let a = ui.global::<KioskAdapter>();
            let keys: Vec<SharedString> = screen::code_keys()
                .iter()
                .map(|k| SharedString::from(k.as_str()))
                .collect();
            a.set_code_keys(ModelRc::new(VecModel::from(keys)));
            let icon = |name| hub_client::pictograms::path_commands(name).unwrap_or_default();
            a.set_calendar_icon(icon("calendar-check").into());
            a.set_qr_icon(icon("qrcode").into());
        }
        app.borrow().render();
        app
    }

    /// Runs the idle clock at `now` (tests use a future instant instead of waiting).
    pub fn tick_at(&mut self, now: Instant) {
        self.ctrl.tick(now);
        self.render();
    }

    pub fn choose_service(&mut self, id: &str) {
        let effects = self.ctrl.choose_service(&self.mirror, id, Instant::now());
        self.carry_out(effects);
    }

    pub fn choose_category(&mut self, id: &str) {
        let category = (!id.is_empty()).then_some(id);
        let effects = self.ctrl.choose_category(category, Instant::now());
        self.carry_out(effects);
    }

    pub fn start_check_in(&mut self) {
        self.ctrl.start_check_in(Instant::now());
        self.render();
    }

    pub fn code_key(&mut self, key: &str) {
        self.ctrl.code_key(key, Instant::now());
        self.render();
    }

    pub fn code_delete(&mut self) {
        self.ctrl.code_delete(Instant::now());
        self.render();
    }

    pub fn code_submit(&mut self) {
        let effects = self.ctrl.code_submit(Instant::now());
        self.carry_out(effects);
    }

    pub fn phone_key(&mut self, key: &str) {
        self.ctrl.phone_key(key, Instant::now());
        self.render();
    }

    pub fn phone_delete(&mut self) {
        self.ctrl.phone_delete(Instant::now());
        self.render();
    }

    pub fn phone_submit(&mut self) {
        let effects = self.ctrl.phone_submit(Instant::now());
        self.carry_out(effects);
    }

    pub fn phone_skip(&mut self) {
        let effects = self.ctrl.phone_skip(Instant::now());
        self.carry_out(effects);
    }

    pub fn back(&mut self) {
        self.ctrl.back(Instant::now());
        self.render();
    }

    /// A key from a QR reader (or a stray keyboard).
    pub fn key(&mut self, text: &str) {
        let day = self.service_day();
        let effects = self.ctrl.key(text, day, Instant::now());
        self.carry_out(effects);
    }

    fn service_day(&self) -> Option<chrono::NaiveDate> {
        let day = &self.mirror.center.as_ref()?.service_day;
        chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()
    }

    fn carry_out(&mut self, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::Issue(r) => self.issue(r),
                Effect::CheckIn { code, phone } => self.check_in(code, phone),
                Effect::Print(ticket) => self.print(&ticket),
                Effect::ReportPrinter(status) => {
                    let client = self.client.clone();
                    let tx = self.inbox.sender();
                    self.runtime.spawn(async move {
                        if let Err(e) = client
                            .send(Command::DeviceStatus {
                                status: status.into(),
                            })
                            .await
                        {
                            tracing::warn!("device_status not accepted: {e}");
                            let _ = tx.send(Incoming::StatusNotReported);
                        }
                    });
                }
            }
        }
        self.render();
    }

    fn issue(&mut self, r: IssueRequest) {
        self.send_for_ticket(Command::IssueTicket {
            service: r.service,
            priority: r.priority,
            phone: r.phone,
        });
    }

    fn check_in(&mut self, code: String, phone: Option<String>) {
        self.send_for_ticket(Command::CheckIn { code, phone });
    }

    /// A command whose answer is a ticket: one press, one command id.
    fn send_for_ticket(&mut self, command: Command) {
        self.requests_sent += 1;
        let client = self.client.clone();
        let tx = self.inbox.sender();
        // One command id for this press: the client resends it unchanged after a reconnect, and
        // the hub answers a repeated id with the first answer. Unanswered after PRESS_DEADLINE
        // the press is abandoned, here and at the hub: nobody is at the kiosk any more to take
        // a ticket printed then.
        self.runtime.spawn(async move {
            let result = client
                .send_within(command, crate::controller::PRESS_DEADLINE)
                .await
                .and_then(|result| {
                    result.into_ticket().ok_or_else(|| {
                        CommandError::Rejected(protocol::ErrorBody {
                            code: ErrorCode::Internal,
                            message: "the hub answered without a ticket".into(),
                        })
                    })
                });
            let _ = tx.send(Incoming::Issued(result.map(Box::new)));
        });
    }

    fn print(&mut self, ticket: &Ticket) {
        let Some(printer) = self.printer.clone() else {
            return;
        };
        let content = TicketContent::of(&self.mirror, ticket);
        if let Some(dir) = &self.save_tickets {
            let png = dir.join(format!("{}.png", ticket.number));
            if let Err(e) = crate::ticket::render(&content, printer.spec.dots).save(&png) {
                tracing::warn!("saving {}: {e}", png.display());
            }
        }
        let tx = self.inbox.sender();
        // Printers are slow and may hang: never on the UI thread, and never for long.
        std::thread::spawn(move || {
            let _ = tx.send(Incoming::Printed(printer.print(content, PRINT_TIMEOUT)));
        });
    }

    pub fn render(&self) {
        let s = screen::screen(&self.ctrl, &self.mirror, chrono::Utc::now());
        let a = self.ui.global::<KioskAdapter>();
        a.set_english(s.english);
        a.set_online(s.online);
        a.set_switching(s.switching);
        a.set_issuing(s.issuing);
        a.set_message(s.message.as_str().into());
        a.set_center(s.center.as_str().into());
        a.set_clock(s.clock.as_str().into());
        let services: Vec<ServiceTile> = s
            .services
            .iter()
            .map(|t| ServiceTile {
                id: t.id.as_str().into(),
                name: t.name.as_str().into(),
                sub: t.sub.as_str().into(),
                waiting: i32::try_from(t.waiting).unwrap_or(i32::MAX),
                eta: t.eta.as_str().into(),
                available: t.available,
                reason: t.reason.as_str().into(),
                icon: t.icon.as_str().into(),
            })
            .collect();
        a.set_services(ModelRc::new(VecModel::from(services)));
        let categories: Vec<CategoryTile> = s
            .categories
            .iter()
            .map(|c| CategoryTile {
                id: c.id.as_str().into(),
                name: c.name.as_str().into(),
                sub: c.sub.as_str().into(),
            })
            .collect();
        a.set_categories(ModelRc::new(VecModel::from(categories)));
        a.set_chosen_service(s.chosen_service.as_str().into());
        a.set_page(match s.page {
            Page::Services => UiPage::Services,
            Page::Category => UiPage::Category,
            Page::CheckIn => UiPage::Checkin,
            Page::Phone => UiPage::Phone,
            Page::Ticket => UiPage::Ticket,
        });
        a.set_has_appointments(s.has_appointments);
        a.set_code_typed(s.code_typed.as_str().into());
        let boxes: Vec<SharedString> = (0..protocol::booking_code::CODE_LEN)
            .map(|i| {
                s.code_typed
                    .get(i..i + 1)
                    .map(SharedString::from)
                    .unwrap_or_default()
            })
            .collect();
        a.set_code_chars(ModelRc::new(VecModel::from(boxes)));
        a.set_phone_typed(s.phone_typed.as_str().into());
        a.set_phone_complete(s.phone_complete);
        if let Some(t) = &s.ticket {
            a.set_ticket_number(t.number.as_str().into());
            a.set_ticket_service(t.service.as_str().into());
            a.set_ticket_priority(t.priority.as_str().into());
            a.set_ticket_ahead(i32::try_from(t.ahead).unwrap_or(i32::MAX));
            a.set_ticket_eta(SharedString::from(t.eta.as_str()));
            a.set_ticket_appointment(t.appointment.as_str().into());
            a.set_print_state(match t.print {
                PrintState::Printing => UiPrintState::Printing,
                PrintState::Printed => UiPrintState::Printed,
                PrintState::Failed => UiPrintState::Failed,
            });
        }
    }
}

impl Pump for App {
    type Message = Incoming;

    fn inbox(&self) -> &Inbox<Incoming> {
        &self.inbox
    }

    fn handle(&mut self, m: Incoming) {
        let now = Instant::now();
        let effects = match m {
            Incoming::Hub(u) => {
                self.mirror.apply(&u);
                self.ctrl.offer_sms = self.mirror.center.as_ref().is_some_and(|c| c.sms);
                vec![]
            }
            Incoming::Issued(result) => self.ctrl.issued(result.map(|t| *t), now),
            Incoming::Printed(result) => {
                let status = match &result {
                    Ok(()) => "ok",
                    Err(e) => {
                        tracing::warn!("printing failed: {e}");
                        e.status()
                    }
                };
                self.ctrl.printed(status, now)
            }
            Incoming::StatusNotReported => {
                self.ctrl.forget_printer_status();
                vec![]
            }
        };
        self.carry_out(effects);
    }

    fn refresh(&mut self) {
        self.ctrl.tick(Instant::now());
        self.render();
    }
}

impl App {
    /// Hides the mouse pointer over the kiosk (a touch-only kiosk: `--hide-pointer`).
    pub fn hide_pointer(&self, hide: bool) {
        self.ui.global::<KioskAdapter>().set_hide_pointer(hide);
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
    a.on_start_check_in(move || with_app(&w, App::start_check_in));
    let w = app.clone();
    a.on_code_key(move |key| with_app(&w, |app| app.code_key(&key)));
    let w = app.clone();
    a.on_code_delete(move || with_app(&w, App::code_delete));
    let w = app.clone();
    a.on_code_submit(move || with_app(&w, App::code_submit));
    let w = app.clone();
    a.on_phone_key(move |key| with_app(&w, |app| app.phone_key(&key)));
    let w = app.clone();
    a.on_phone_delete(move || with_app(&w, App::phone_delete));
    let w = app.clone();
    a.on_phone_submit(move || with_app(&w, App::phone_submit));
    let w = app.clone();
    a.on_phone_skip(move || with_app(&w, App::phone_skip));
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
