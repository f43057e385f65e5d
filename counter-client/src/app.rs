//! The counter app's glue, and the only code that touches generated Slint types: hub updates and
//! command answers arrive in the inbox and go to the mirror and the controller; the controller's
//! screen and dialog are copied into the window; its effects are carried out.

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::{Rc, Weak};

use app_shell::{Connection, Inbox, Pump, with_app};
use hub_client::{CommandError, HubClient, Mirror, Update};
use protocol::Role;
use slint::{ComponentHandle, ModelRc, SharedString, VecModel};

use crate::controller::{Action, Controller, Dialog, Effect, Screen};
use crate::remember;
use crate::{
    Action as UiAction, AppWindow, CounterAdapter, CounterChoice, CurrentTicket,
    Dialog as UiDialog, Enabled, ServiceChoice, WaitingRow,
};

#[derive(Debug, Clone)]
pub struct Options {
    pub connection: Connection,
    /// Ask the citizen's rating when finishing.
    pub ratings: bool,
    /// Where the last counter and staff code are remembered (never the PIN).
    pub remember: Option<PathBuf>,
}

pub enum Incoming {
    Hub(Update),
    Answer {
        action: Action,
        result: Result<protocol::ReplyResult, CommandError>,
    },
}

impl From<Update> for Incoming {
    fn from(u: Update) -> Incoming {
        Incoming::Hub(u)
    }
}

pub struct App {
    pub ui: AppWindow,
    pub mirror: Mirror,
    pub ctrl: Controller,
    client: HubClient,
    runtime: tokio::runtime::Handle,
    inbox: Inbox<Incoming>,
    remember: Option<PathBuf>,
    remembered: Option<(u32, String)>,
}

impl App {
    /// Connects to the hub (on `runtime`) and wires the window's callbacks.
    pub fn new(
        ui: AppWindow,
        options: Options,
        runtime: tokio::runtime::Handle,
    ) -> Rc<RefCell<App>> {
        let inbox = Inbox::new();
        let client =
            app_shell::connect(&options.connection, Role::Counter, false, &runtime, &inbox);
        let remembered = options.remember.as_deref().and_then(remember::read);
        if let Some((_, staff)) = &remembered {
            ui.global::<CounterAdapter>().set_login_staff(staff.into());
        }
        let app = Rc::new(RefCell::new(App {
            ctrl: Controller::new(&options.connection.device, options.ratings),
            ui: ui.clone_strong(),
            mirror: Mirror::default(),
            client,
            runtime,
            inbox,
            remember: options.remember,
            remembered,
        }));
        wire_callbacks(&ui, Rc::downgrade(&app));
        app.borrow_mut().render();
        app
    }

    pub fn screen(&self) -> Screen {
        self.ctrl.screen(
            &self.mirror,
            chrono::Utc::now()
                .with_timezone(&app_shell::centre_time::zone(&self.mirror))
                .fixed_offset(),
        )
    }

    /// A button or F-key.
    pub fn press(&mut self, action: Action) {
        let effects = self.ctrl.press(action, &self.screen());
        if self.ctrl.dialog == Dialog::Transfer {
            self.fill_transfer_choices();
        }
        self.carry_out(effects);
    }

    /// Fills the login form as a clerk would type it (the snapshot tool and tests). Returns
    /// false when the hub has no such counter.
    pub fn fill_login(&self, staff: &str, pin: &str, counter: u32) -> bool {
        let Some(index) = self
            .mirror
            .counters
            .iter()
            .position(|c| c.number == counter)
        else {
            return false;
        };
        let a = self.ui.global::<CounterAdapter>();
        a.set_login_staff(staff.into());
        a.set_login_pin(pin.into());
        a.set_login_counter_index(i32::try_from(index).unwrap_or(-1));
        true
    }

    /// The login form's button (or Enter in the PIN field).
    pub fn login(&mut self) {
        let a = self.ui.global::<CounterAdapter>();
        let counter = usize::try_from(a.get_login_counter_index())
            .ok()
            .and_then(|i| self.mirror.counters.get(i))
            .map(|c| c.number);
        let effects = self
            .ctrl
            .login(&a.get_login_staff(), &a.get_login_pin(), counter);
        self.carry_out(effects);
    }

    fn carry_out(&mut self, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::Send { action, command } => {
                    let client = self.client.clone();
                    let tx = self.inbox.sender();
                    self.runtime.spawn(async move {
                        let result = client.send(command).await;
                        let _ = tx.send(Incoming::Answer { action, result });
                    });
                }
                Effect::Remember { counter, staff } => {
                    if let Some(path) = &self.remember {
                        remember::write(path, counter, &staff);
                    }
                }
                Effect::ClearPin => self
                    .ui
                    .global::<CounterAdapter>()
                    .set_login_pin(SharedString::new()),
            }
        }
        self.render();
    }

    fn fill_counter_list(&mut self) {
        let names: Vec<SharedString> = self
            .mirror
            .counters
            .iter()
            .map(|c| c.name.as_str().into())
            .collect();
        let adapter = self.ui.global::<CounterAdapter>();
        adapter.set_counter_names(ModelRc::new(VecModel::from(names)));
        if let Some((n, _)) = &self.remembered
            && let Some(i) = self.mirror.counters.iter().position(|c| c.number == *n)
        {
            adapter.set_login_counter_index(i as i32);
        }
    }

    fn fill_transfer_choices(&self) {
        let choices = self.ctrl.transfer_choices(&self.mirror);
        let services: Vec<ServiceChoice> = choices
            .services
            .iter()
            .map(|(label, id)| ServiceChoice {
                label: label.into(),
                id: id.into(),
            })
            .collect();
        let counters: Vec<CounterChoice> = choices
            .counters
            .iter()
            .map(|(label, number)| CounterChoice {
                label: label.into(),
                number: i32::try_from(*number).unwrap_or(i32::MAX),
            })
            .collect();
        let a = self.ui.global::<CounterAdapter>();
        a.set_transfer_services(ModelRc::new(VecModel::from(services)));
        a.set_transfer_counters(ModelRc::new(VecModel::from(counters)));
    }

    pub fn render(&mut self) {
        let s = self.screen();
        self.ctrl.settle(&s);
        let a = self.ui.global::<CounterAdapter>();
        a.set_online(s.online);
        a.set_banner(s.banner.as_str().into());
        a.set_alerts(s.alerts.as_str().into());
        a.set_busy(self.ctrl.busy);
        a.set_clock(app_shell::centre_time::clock(&self.mirror).into());
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
        a.set_dialog(match self.ctrl.dialog {
            Dialog::None => UiDialog::None,
            Dialog::Transfer => UiDialog::Transfer,
            Dialog::CallNumber => UiDialog::CallNumber,
            Dialog::Rating => UiDialog::Rating,
        });
    }
}

impl Pump for App {
    type Message = Incoming;

    fn inbox(&self) -> &Inbox<Incoming> {
        &self.inbox
    }

    fn handle(&mut self, m: Incoming) {
        match m {
            Incoming::Hub(update) => {
                self.mirror.apply(&update);
                if matches!(update, Update::Snapshot { .. }) {
                    self.fill_counter_list();
                }
            }
            Incoming::Answer { action, result } => {
                let effects = self.ctrl.answered(action, result.as_ref().map(|_| ()));
                self.carry_out(effects);
            }
        }
    }

    fn refresh(&mut self) {
        self.render();
    }
}

fn action_of(action: UiAction) -> Action {
    match action {
        UiAction::CallNext => Action::CallNext,
        UiAction::Recall => Action::Recall,
        UiAction::Start => Action::Start,
        UiAction::Finish => Action::Finish,
        UiAction::NoShow => Action::NoShow,
        UiAction::Transfer => Action::Transfer,
        UiAction::PauseResume => Action::PauseResume,
        UiAction::CallNumber => Action::CallNumber,
        UiAction::Logout => Action::Logout,
    }
}

fn wire_callbacks(ui: &AppWindow, app: Weak<RefCell<App>>) {
    let a = ui.global::<CounterAdapter>();
    let w = app.clone();
    a.on_action(move |action| with_app(&w, |app| app.press(action_of(action))));
    let w = app.clone();
    a.on_transfer_to_service(move |id| {
        with_app(&w, |app| {
            let effects = app.ctrl.transfer_to_service(&id);
            app.carry_out(effects);
        })
    });
    let w = app.clone();
    a.on_transfer_to_counter(move |n| {
        with_app(&w, |app| {
            if let Ok(n) = u32::try_from(n) {
                let effects = app.ctrl.transfer_to_counter(n);
                app.carry_out(effects);
            }
        })
    });
    let w = app.clone();
    a.on_call_number(move |text| {
        with_app(&w, |app| {
            let effects = app.ctrl.call_number(&text);
            app.carry_out(effects);
        })
    });
    let w = app.clone();
    a.on_finish_with(move |r| {
        with_app(&w, |app| {
            let effects = app.ctrl.finish_with(r);
            app.carry_out(effects);
        })
    });
    let w = app.clone();
    a.on_close_dialog(move || {
        with_app(&w, |app| {
            app.ctrl.close_dialog();
            app.render();
        })
    });
    a.on_login(move || with_app(&app, App::login));
}
