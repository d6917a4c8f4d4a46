//! The web view's flags: `weft ui` and `FLOW ui` take them all; `watch --ui` and `dev --ui`
//! take `--port` and `--bind` (their cache is the one they write).

use std::net::IpAddr;
use std::path::PathBuf;

use clap::Args;

/// `ui [--cache DIR|URL] [--port P] [--bind ADDR]`.
#[derive(Args, Debug, Clone)]
pub(crate) struct UiArgs {
    /// The cache to show: a directory, or an object-store URL (`s3://bucket/prefix`)
    #[arg(
        long = "cache",
        alias = "cache-dir",
        value_name = "DIR",
        default_value = ".weft/cache"
    )]
    pub(crate) cache: PathBuf,

    #[command(flatten)]
    pub(crate) listen: Listen,
}

/// Where the web view listens.
#[derive(Args, Debug, Clone)]
pub(crate) struct Listen {
    /// The port to listen on (0: any free port; the address is printed)
    #[arg(long, value_name = "PORT", default_value_t = 7878)]
    pub(crate) port: u16,

    /// The address to listen on. Only 127.0.0.1 (this machine) unless you say otherwise:
    /// anyone who can reach another address can read the cache's runs and values
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
    pub(crate) bind: IpAddr,
}

impl Default for Listen {
    fn default() -> Self {
        Listen {
            port: 7878,
            bind: IpAddr::from([127, 0, 0, 1]),
        }
    }
}

/// `--ui [--ui-port P] [--ui-bind ADDR]` on `watch` and `dev`.
#[derive(Args, Debug, Clone)]
pub(crate) struct LiveUiArgs {
    /// Also serve the web view, live: pages follow the runs as nodes start and finish
    #[arg(long)]
    pub(crate) ui: bool,

    /// The web view's port (0: any free port; the address is printed)
    #[arg(long, value_name = "PORT", default_value_t = 7878, requires = "ui")]
    pub(crate) ui_port: u16,

    /// The web view's address (default: 127.0.0.1, this machine only)
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "127.0.0.1",
        requires = "ui"
    )]
    pub(crate) ui_bind: IpAddr,
}

impl LiveUiArgs {
    /// Where to listen, when `--ui` is on.
    pub(crate) fn listen(&self) -> Option<Listen> {
        self.ui.then_some(Listen {
            port: self.ui_port,
            bind: self.ui_bind,
        })
    }
}
