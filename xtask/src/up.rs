pub fn run(_: &Up) -> anyhow::Result<()> { Ok(()) }
#[derive(Debug, clap::Args)] pub struct Up {}
