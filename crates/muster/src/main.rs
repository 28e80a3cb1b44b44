//! `muster`: the one binary. Serves, migrates, seeds a demo, and runs manager commands.

mod bulk;
mod channel_worker;
mod channels_cli;
mod cli;
mod commands;
mod config;
mod demo;
mod group_reply_worker;
mod logging;
mod mail;
mod mail_worker;
mod mailbox;
mod serve;
mod simulate;
mod sla_worker;
mod smtp_door;
mod webhook_worker;
mod worker;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    let config = match config::Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("muster: {err}");
            return std::process::ExitCode::from(2);
        }
    };
    logging::init(&config.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("muster: cannot start the async runtime: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli.command, config)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("muster: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
