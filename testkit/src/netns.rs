//! Real network partitions for the pair's tests: the two hub PCs each in a Linux network
//! namespace of its own, wired as a centre wires them — a devices' network (the lobby's switch:
//! kiosks, counters, boards; here the test process itself, in the root namespace) and a link
//! between the two PCs — with veth pairs and two bridges. A test pulls a cable (`cut`), puts
//! it back (`mend`), or slows and drops on it (`impair`, with the kernel's `netem`).
//!
//! It needs root (CI runs as root) and the `ip` tool. Where the machine refuses, [`Lan::new`]
//! says why and the test returns, saying that it skipped: never a silent pass.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU8, Ordering};

use crate::HubProcess;

/// The hubs' port on both networks.
pub const PORT: u16 = 7878;

/// Lans made by this process: each test its own addresses and names.
static NEXT: AtomicU8 = AtomicU8::new(0);

/// One of the centre's two hub PCs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pc {
    A,
    B,
}

/// Which of a PC's two cables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cable {
    /// To the lobby's switch: the devices.
    Devices,
    /// To the other hub PC.
    Pair,
}

/// The two namespaces, their cables and the bridges; removed when dropped.
pub struct Lan {
    n: u8,
    /// This process's id in the names: another test binary's lans never collide.
    tag: String,
}

impl Lan {
    /// A fresh centre network, or `None` (and why, on stderr) where namespaces are refused.
    pub fn new(test: &str) -> Option<Lan> {
        if !is_root() {
            eprintln!("SKIPPED {test}: network namespaces need root (CI runs as root)");
            return None;
        }
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let tag = format!("{:x}{n}", std::process::id() % 0xfff);
        let lan = Lan { n, tag };
        lan.remove();
        if let Err(why) = lan.build() {
            eprintln!("SKIPPED {test}: this machine refuses network namespaces: {why}");
            lan.remove();
            return None;
        }
        Some(lan)
    }

    fn ns(&self, pc: Pc) -> String {
        format!("hd{}{}", self.tag, pc.letter())
    }

    /// The root namespace's end of a PC's cable (what `cut` pulls).
    fn plug(&self, pc: Pc, cable: Cable) -> String {
        format!("h{}{}{}x", self.tag, pc.letter(), cable.letter())
    }

    fn end(&self, pc: Pc, cable: Cable) -> String {
        format!("h{}{}{}", self.tag, pc.letter(), cable.letter())
    }

    fn bridge(&self, cable: Cable) -> String {
        format!("hb{}{}", self.tag, cable.letter())
    }

    /// A PC's address on one of its networks.
    pub fn ip(&self, pc: Pc, cable: Cable) -> IpAddr {
        let net = match cable {
            Cable::Devices => 80,
            Cable::Pair => 120,
        };
        let host = match pc {
            Pc::A => 10,
            Pc::B => 11,
        };
        IpAddr::V4(Ipv4Addr::new(10, net + self.n % 40, 0, host))
    }

    /// Where the devices reach a PC's hub.
    pub fn addr(&self, pc: Pc) -> SocketAddr {
        SocketAddr::new(self.ip(pc, Cable::Devices), PORT)
    }

    /// `ws://…/ws` of a PC on the devices' network, as a kiosk's `--hub` lists it.
    pub fn ws(&self, pc: Pc) -> String {
        format!("ws://{}/ws", self.addr(pc))
    }

    /// `[replication] peer` for a PC: the other one on the pair's link.
    pub fn peer_of(&self, pc: Pc) -> String {
        let other = match pc {
            Pc::A => Pc::B,
            Pc::B => Pc::A,
        };
        format!("ws://{}:{PORT}", self.ip(other, Cable::Pair))
    }

    fn build(&self) -> Result<(), String> {
        for cable in [Cable::Devices, Cable::Pair] {
            let bridge = self.bridge(cable);
            ip(&["link", "add", &bridge, "type", "bridge"])?;
            ip(&["link", "set", &bridge, "up"])?;
        }
        // The test process is on the devices' network.
        let me = Ipv4Addr::new(10, 80 + self.n % 40, 0, 1);
        ip(&[
            "addr",
            "add",
            &format!("{me}/24"),
            "dev",
            &self.bridge(Cable::Devices),
        ])?;
        for pc in [Pc::A, Pc::B] {
            let ns = self.ns(pc);
            ip(&["netns", "add", &ns])?;
            ip(&["-n", &ns, "link", "set", "lo", "up"])?;
            for cable in [Cable::Devices, Cable::Pair] {
                let (end, plug) = (self.end(pc, cable), self.plug(pc, cable));
                ip(&["link", "add", &end, "type", "veth", "peer", "name", &plug])?;
                ip(&["link", "set", &end, "netns", &ns])?;
                ip(&["link", "set", &plug, "master", &self.bridge(cable)])?;
                ip(&["link", "set", &plug, "up"])?;
                let addr = format!("{}/24", self.ip(pc, cable));
                ip(&["-n", &ns, "addr", "add", &addr, "dev", &end])?;
                ip(&["-n", &ns, "link", "set", &end, "up"])?;
            }
        }
        Ok(())
    }

    fn remove(&self) {
        for pc in [Pc::A, Pc::B] {
            let _ = ip(&["netns", "del", &self.ns(pc)]);
            for cable in [Cable::Devices, Cable::Pair] {
                let _ = ip(&["link", "del", &self.plug(pc, cable)]);
            }
        }
        for cable in [Cable::Devices, Cable::Pair] {
            let _ = ip(&["link", "del", &self.bridge(cable)]);
        }
    }

    /// Pulls a PC's cable: no packet passes either way, and nobody is told (no reset, as
    /// with a real cable: connections hang until their own timeouts).
    pub fn cut(&self, pc: Pc, cable: Cable) {
        ip(&["link", "set", &self.plug(pc, cable), "down"]).expect("the cable is pulled");
    }

    pub fn mend(&self, pc: Pc, cable: Cable) {
        ip(&["link", "set", &self.plug(pc, cable), "up"]).expect("the cable is back");
    }

    /// Delay and loss on a PC's cable (the kernel's `netem`), or why this machine cannot.
    pub fn impair(
        &self,
        pc: Pc,
        cable: Cable,
        delay_ms: u32,
        loss_percent: u32,
    ) -> Result<(), String> {
        let out = Command::new("tc")
            .args([
                "qdisc",
                "add",
                "dev",
                &self.plug(pc, cable),
                "root",
                "netem",
            ])
            .args([
                "delay",
                &format!("{delay_ms}ms"),
                "loss",
                &format!("{loss_percent}%"),
            ])
            .output()
            .map_err(|e| format!("tc: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
        }
    }

    /// `exe ARGS` run on a PC (in its namespace), as the technician at it would: its output.
    pub fn run_on(&self, pc: Pc, exe: &Path, args: &[&str]) -> std::process::Output {
        Command::new("ip")
            .args(["netns", "exec", &self.ns(pc)])
            .arg(exe)
            .args(args)
            .output()
            .expect("the command runs")
    }

    /// Starts `exe` as a PC's hub, inside its namespace, serving both of its networks.
    pub fn start_hub(&self, pc: Pc, exe: &Path, config: &Path, db: &Path) -> HubProcess {
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", &self.ns(pc)])
            .arg(exe)
            .arg("--config")
            .arg(config)
            .arg("--db")
            .arg(db)
            .args(["--create-db", "--listen", &format!("0.0.0.0:{PORT}")]);
        HubProcess::start(command)
    }
}

impl Drop for Lan {
    fn drop(&mut self) {
        self.remove();
    }
}

impl Pc {
    fn letter(self) -> char {
        match self {
            Pc::A => 'a',
            Pc::B => 'b',
        }
    }
}

impl Cable {
    fn letter(self) -> char {
        match self {
            Cable::Devices => 'd',
            Cable::Pair => 'p',
        }
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// `ip ARGS`, or its complaint.
fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}
