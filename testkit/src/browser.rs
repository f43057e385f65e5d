use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder, Locator};

/// A real headless Chromium driven over WebDriver (Debian's `chromium-driver`; the test command
/// installs it): for the console's browser tests.
pub struct Browser {
    pub client: Client,
    driver: Child,
}

/// How long a browser test waits for the page to show something.
pub const BROWSER_WAIT: Duration = Duration::from_secs(15);

impl Browser {
    /// Starts chromedriver on a free port and opens a 1366×768 headless window.
    pub async fn start() -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            // Chromium does not start under libfaketime (the suite's day-boundary run uses it),
            // and the browser's own clock decides nothing the tests check.
            .env_remove("LD_PRELOAD")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (Debian package chromium-driver; scripts/ensure-system-packages installs it)");
        // Ready when it says so.
        let out = driver.stdout.take().expect("piped");
        let mut lines = BufReader::new(out).lines();
        for line in lines.by_ref() {
            if line
                .expect("chromedriver's output")
                .contains("started successfully")
            {
                break;
            }
        }
        std::thread::spawn(move || for _ in lines {});
        let mut caps = Capabilities::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({"args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                                        "--disable-dev-shm-usage", "--window-size=1366,768",
                                        "--lang=vi"]}),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a Chromium session");
        Browser { client, driver }
    }

    /// Waits until an element matching `css` is on the page; returns its text.
    pub async fn text_of(&self, css: &str) -> String {
        // A page that redraws (a pushed event) may replace the element between finding it and
        // reading it: found again, as a person's eye would.
        let mut stale = 0;
        loop {
            match self.element(css).await.text().await {
                Ok(text) => return text,
                Err(e) if is_stale(&e) && stale < 20 => stale += 1,
                Err(e) => panic!("the text of {css}: {e}"),
            }
        }
    }

    /// Waits until an element with `id` shows text containing `needle` (WebDriver's own wait,
    /// which looks again until the page — updated by pushed events — has it); returns the text.
    pub async fn wait_for_text(&self, id: &str, needle: &str) -> String {
        let xpath = format!("//*[@id='{id}'][contains(., '{needle}')]");
        let element = self
            .client
            .wait()
            .at_most(BROWSER_WAIT)
            .for_element(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|e| panic!("#{id} never showed {needle:?}: {e}"));
        match element.text().await {
            Ok(text) => text,
            // Redrawn since it matched: it matched, so the wait is over; read it afresh.
            Err(e) if is_stale(&e) => self.text_of(&format!("#{id}")).await,
            Err(e) => panic!("the text of #{id}: {e}"),
        }
    }

    /// Waits until an element matching `css` is on the page, then clicks it.
    /// (Found again if the page redrew it meanwhile.)
    pub async fn click(&self, css: &str) {
        let mut stale = 0;
        loop {
            match self.element(css).await.click().await {
                Ok(()) => return,
                Err(e) if is_stale(&e) && stale < 20 => stale += 1,
                Err(e) => panic!("clicking {css}: {e}"),
            }
        }
    }

    /// Replaces the text of the field matching `css` with `text`.
    pub async fn type_into(&self, css: &str, text: &str) {
        let field = self.element(css).await;
        field.clear().await.expect("clear the field");
        field
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("typing into {css}: {e}"));
    }

    async fn element(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(BROWSER_WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css} did not appear: {e}"))
    }

    /// Saves what the window shows as a PNG.
    pub async fn screenshot(&self, path: &std::path::Path) {
        let png = self.client.screenshot().await.expect("screenshot");
        std::fs::write(path, png).expect("write the screenshot");
    }

    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// The element was replaced since it was found (the page redrew it).
fn is_stale(e: &fantoccini::error::CmdError) -> bool {
    matches!(
        e,
        fantoccini::error::CmdError::Standard(w)
            if w.error == fantoccini::error::ErrorStatus::StaleElementReference
    )
}
