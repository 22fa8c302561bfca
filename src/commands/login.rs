//! `login`, `logout` and `auth status`: a person signs in once with Workfront's OAuth2
//! authorization-code flow and the refresh token is stored (see [`crate::auth::login`]);
//! `logout` deletes it; `auth status` says which credential a run would use and whether it
//! works, never a secret.

use crate::auth::login::{
    Pending, StoredToken, WebApp, complete, exchange_code, now_stamp, save, token_path,
};
use crate::cli::{LoginArgs, LogoutArgs, StatusArgs};
use crate::console;
use crate::error::{Error, Result};
use crate::model::date::format_utc_ms;
use crate::output::Destination;
use crate::secret::Secret;
use crate::settings::Settings;
use crate::workfront::query::Filters;

fn env(var: &str) -> Option<String> {
    std::env::var(var).ok().filter(|v| !v.trim().is_empty())
}

/// The Web Application's client ID and secret: the environment, else the profile.
fn web_app(args: &LoginArgs) -> Result<(WebApp, Option<String>)> {
    let mut connection = args.connection.clone();
    let mut id = env("WORKFRONT_CLIENT_ID");
    let mut secret = env("WORKFRONT_CLIENT_SECRET");
    if let Some(name) = &connection.profile {
        let path = crate::profile::config_path(connection.config.as_deref(), &env)
            .ok_or_else(|| Error::usage("--profile needs a config file: pass --config <PATH>"))?;
        let p = crate::profile::load(&path, name)?;
        id = id.or(p.client_id);
        secret = secret
            .or_else(|| p.client_secret_env.as_deref().and_then(env))
            .or_else(|| {
                p.client_secret_file
                    .and_then(|f| std::fs::read_to_string(f).ok())
                    .map(|s| s.trim().to_string())
            });
        connection.url = connection.url.or(p.url);
    }
    match (id, secret) {
        (Some(client_id), Some(secret)) => Ok((
            WebApp {
                client_id,
                client_secret: Secret::new(secret),
            },
            connection.url,
        )),
        _ => Err(Error::usage(
            "login needs the Web Application's client ID and secret: set WORKFRONT_CLIENT_ID \
             and WORKFRONT_CLIENT_SECRET, or client_id and client_secret_env in the profile \
             (see the README, \"Authentication\")",
        )),
    }
}

pub fn login(args: LoginArgs) -> Result<()> {
    let (app, url) = web_app(&args)?;
    let url = crate::config::check_url(
        url.as_deref().ok_or_else(|| {
            Error::usage("no Workfront URL: pass --url or set WORKFRONT_URL (or the profile's url)")
        })?,
        args.connection.allow_insecure_http,
    )?;
    let path = token_path(args.connection.profile.as_deref(), &env)
        .ok_or_else(|| Error::usage("no place for the login: set XDG_STATE_HOME or HOME"))?;
    let timeout = std::time::Duration::from_secs(args.connection.timeout);
    super::runtime()?.block_on(async {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
            .await
            .map_err(|e| Error::io(format!("cannot listen on 127.0.0.1:{}", args.port), e))?;
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(args.port);
        let pending = Pending::new(format!("http://127.0.0.1:{port}/callback"))?;
        let authorize = pending.authorize_url(&url, &app.client_id)?;
        console::note(format!("sign in to Workfront at: {authorize}"));
        if !args.no_browser {
            let _ = std::process::Command::new("xdg-open")
                .arg(authorize.as_str())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn();
        }
        // The browser hears "Signed in" only once the login is stored.
        let (url, app, path, pending) = (&url, &app, &path, &pending);
        let finish = move |code: String| async move {
            let tokens = exchange_code(url, app, &code, pending, timeout).await?;
            let refresh = tokens.refresh.ok_or_else(|| Error::Auth {
                path: crate::auth::login::TOKEN_PATH.into(),
                status: 200,
                message: "the token answer has no refresh_token: is the application a Web Application?".into(),
            })?;
            save(
                path,
                &StoredToken {
                    url: url.as_str().trim_end_matches('/').to_string(),
                    client_id: app.client_id.clone(),
                    refresh_token: refresh.expose().to_string(),
                    refreshed_at: now_stamp(),
                },
            )
        };
        tokio::time::timeout(
            std::time::Duration::from_secs(600),
            complete(listener, pending, finish),
        )
        .await
        .map_err(|_| Error::usage("no sign-in within 10 minutes: run `jrnle-audit login` again"))??;
        console::note(format!(
            "signed in; the login is stored in {} (mode 0600): later runs get their sessions from it",
            path.display()
        ));
        Ok(())
    })
}

pub fn logout(args: LogoutArgs) -> Result<()> {
    let path = token_path(args.profile.as_deref(), &env)
        .ok_or_else(|| Error::usage("no place for the login: set XDG_STATE_HOME or HOME"))?;
    match std::fs::remove_file(&path) {
        Ok(()) => {
            console::note(format!("deleted the login {}", path.display()));
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            console::note(format!("not logged in: no {}", path.display()));
            Ok(())
        }
        Err(e) => Err(Error::io(format!("cannot delete {}", path.display()), e)),
    }
}

pub fn status(args: StatusArgs) -> Result<()> {
    let settings = Settings::resolve(&args.connection, &crate::cli::FilterArgs::default())?;
    let (tenant, _) = settings.tenant();
    let mut lines = vec![
        format!("tenant: {tenant}"),
        format!("credential: {}", settings.target.credential_description()),
    ];
    let stored = token_path(args.connection.profile.as_deref(), &env)
        .filter(|p| p.exists())
        .and_then(|p| crate::auth::login::load(&p).ok().map(|t| (p, t)));
    if let Some((path, t)) = stored {
        // In the tool's one time format, also for a file an older version wrote (nanoseconds).
        let refreshed = chrono::DateTime::parse_from_rfc3339(&t.refreshed_at)
            .map(|d| format_utc_ms(&d.with_timezone(&chrono::Utc)))
            .unwrap_or(t.refreshed_at);
        lines.push(format!(
            "stored login: {} (client {}, last refreshed {refreshed})",
            path.display(),
            t.client_id,
        ));
    }
    // One cheap request: a count over the last minute.
    let now = chrono::Utc::now();
    let probe = Filters::window_only(Some(now - chrono::Duration::minutes(1)), now);
    let works = super::runtime()?.block_on(async {
        let client = settings.client().await?;
        let search = probe.search();
        client.count(&search.object, &search.count_params()).await
    });
    lines.push(match works {
        Ok(_) => "works: yes (a count request was answered)".into(),
        Err(_) => "works: no".into(),
    });
    let text = lines.join("\n") + "\n";
    Destination::Stdout.write_with(|w| w.write_all(text.as_bytes()))?;
    works.map(drop)
}
