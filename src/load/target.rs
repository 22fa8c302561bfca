//! `--into`: which database a load goes to (`sqlite:PATH`, `postgres://…`), read once from the
//! connection string held as a [`Secret`]; what is shown of it never holds its password.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::secret::Secret;

/// How TLS is used with PostgreSQL: libpq's `sslmode` values (`allow` excepted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain TCP.
    Disable,
    /// TLS when the server offers it, else plain; the certificate not checked (libpq's
    /// default).
    Prefer,
    /// TLS or no connection; the certificate not checked.
    Require,
    /// TLS with a certificate that chains to a trusted root, whatever name it carries.
    VerifyCa,
    /// TLS with a certificate that chains to a trusted root and names the host.
    VerifyFull,
}

/// A PostgreSQL server to load into.
pub struct Postgres {
    /// What tokio-postgres connects with (its `Debug` hides the password).
    pub config: tokio_postgres::Config,
    pub tls: TlsMode,
    /// `sslrootcert`: the roots to trust instead of the system's.
    pub root_cert: Option<PathBuf>,
}

/// Where a load goes.
pub enum Target {
    Sqlite(PathBuf),
    Postgres(Box<Postgres>),
}

/// `--into`, parsed, with the text shown in messages.
pub struct DatabaseUrl {
    pub target: Target,
    /// The connection string with its password replaced by `****`.
    pub shown: String,
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseUrl")
            .field("shown", &self.shown)
            .finish()
    }
}

impl DatabaseUrl {
    /// Read `--into`. `pg_password` is `PGPASSWORD`, used when the URL carries no password.
    pub fn parse(url: &Secret, pg_password: Option<Secret>) -> Result<DatabaseUrl> {
        let text = url.expose();
        let shown = redacted(text);
        if let Some(path) = text.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(Error::usage(
                    "--into sqlite: needs a file, e.g. sqlite:changes.db",
                ));
            }
            let target = Target::Sqlite(PathBuf::from(path));
            return Ok(DatabaseUrl { target, shown });
        }
        if !(text.starts_with("postgres://") || text.starts_with("postgresql://")) {
            return Err(Error::usage(format!(
                "--into {shown}: not a database this tool loads into: give sqlite:PATH or \
                 postgres://USER@HOST/DB"
            )));
        }
        let postgres = postgres(text, &shown, pg_password)?;
        let target = Target::Postgres(Box::new(postgres));
        Ok(DatabaseUrl { target, shown })
    }
}

/// A PostgreSQL URL: `sslmode` and `sslrootcert` taken out (tokio-postgres knows only three
/// modes), the rest read by tokio-postgres.
/// A user or password holding an unencoded `@`, `/` or `?` makes the driver read part of it as
/// the host (`postgres://u:Pa55:w@rd/x@db/wh` connects to `rd`): refused, with the way out.
fn refuse_unencoded_userinfo(text: &str, shown: &str) -> Result<()> {
    let rest = text.split_once("://").map_or(text, |(_, r)| r);
    // The part before the query, unless the query holds the last `@` only (then the user part
    // holds a `?`).
    let base = match rest.find('?') {
        Some(q) if rest[..q].contains('@') || !rest.contains('@') => &rest[..q],
        _ => rest,
    };
    if let Some(at) = base.rfind('@')
        && base[..at].contains(['@', '/', '?'])
    {
        return Err(Error::usage(format!(
            "--into {shown}: the user or password holds an unencoded @, / or ?: percent-encode \
             it (%40, %2F, %3F), or give the password in PGPASSWORD"
        )));
    }
    Ok(())
}

fn postgres(text: &str, shown: &str, pg_password: Option<Secret>) -> Result<Postgres> {
    refuse_unencoded_userinfo(text, shown)?;
    let (base, query) = text.split_once('?').unwrap_or((text, ""));
    let (mut mode, mut root_cert) = (None, None);
    // The parameters this tool reads are taken out; the others are kept byte for byte (decoded
    // and encoded again, `%20` would become `+`, which the driver reads as a plus sign).
    let mut rest = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let Some((key, value)) = form_urlencoded::parse(pair.as_bytes()).next() else {
            continue;
        };
        match &*key {
            "sslmode" => mode = Some(value.into_owned()),
            "sslrootcert" => root_cert = Some(PathBuf::from(&*value)),
            _ => rest.push(pair),
        }
    }
    let rebuilt = if rest.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    let mut config = tokio_postgres::Config::from_str(&rebuilt).map_err(|e| {
        Error::usage(format!(
            "--into {shown}: {}",
            super::postgres::with_causes(&e)
        ))
    })?;
    let tls = match mode.as_deref() {
        None | Some("prefer") => TlsMode::Prefer,
        Some("disable") => TlsMode::Disable,
        // libpq: require with a root certificate file checks the chain, as verify-ca.
        Some("require") if root_cert.is_some() => TlsMode::VerifyCa,
        Some("require") => TlsMode::Require,
        Some("verify-ca") => TlsMode::VerifyCa,
        Some("verify-full") => TlsMode::VerifyFull,
        Some(other) => {
            return Err(Error::usage(format!(
                "--into {shown}: sslmode={other} is not offered: use disable, prefer, require, \
                 verify-ca or verify-full"
            )));
        }
    };
    config.ssl_mode(match tls {
        TlsMode::Disable => tokio_postgres::config::SslMode::Disable,
        TlsMode::Prefer => tokio_postgres::config::SslMode::Prefer,
        _ => tokio_postgres::config::SslMode::Require,
    });
    if config.get_password().is_none()
        && let Some(password) = pg_password
    {
        config.password(password.expose());
    }
    // No host: the local server's Unix socket, as libpq connects (Debian's directory, else
    // /tmp); TLS does not apply there.
    if config.get_hosts().is_empty() {
        let dir = ["/var/run/postgresql", "/tmp"]
            .into_iter()
            .find(|d| Path::new(d).is_dir())
            .unwrap_or("/tmp");
        config.host_path(dir);
    }
    if config.get_application_name().is_none() {
        config.application_name("jrnle-audit");
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(std::time::Duration::from_secs(10));
    }
    Ok(Postgres {
        config,
        tls,
        root_cert,
    })
}

/// The connection string as messages show it: the password of the user part and any
/// `password=` parameter replaced by `****`. A password may be written unencoded (holding
/// `/`, `?` or `@`), so the user part runs to the last `@` before the query; text that is no
/// URL at all (a libpq `key=value` string, a slip of `postgres:/`) is shown only up to its
/// first `:` or space, since it may hold a password anywhere.
pub fn redacted(text: &str) -> String {
    if text.starts_with("sqlite:") {
        return text.to_string();
    }
    let Some((scheme, rest)) = text.split_once("://") else {
        let end = text.find([':', ' ', '=']).unwrap_or(text.len()).min(12);
        return format!("{}… (not shown: not a URL)", &text[..end]);
    };
    // Where the user part ends: the last '@' not inside the query.
    let at = match rest.rfind('@') {
        Some(i) if !rest[..i].contains('?') => Some(i),
        _ => {
            let q = rest.find('?').unwrap_or(rest.len());
            rest[..q].rfind('@')
        }
    };
    let (user, after) = match at {
        Some(i) => {
            let user = &rest[..i];
            let user = match user.split_once(':') {
                Some((name, _)) => format!("{name}:****@"),
                None => format!("{user}@"),
            };
            (user, &rest[i + 1..])
        }
        // An '@' only where no user part can end: which part is the password is unclear.
        None if rest.contains('@') => return format!("{scheme}://… (not shown: ambiguous)"),
        None => (String::new(), rest),
    };
    let (place, query) = match after.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (after, None),
    };
    let mut shown = format!("{scheme}://{user}{place}");
    if let Some(query) = query {
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=****"),
                _ => pair.to_string(),
            })
            .collect();
        shown.push('?');
        shown.push_str(&pairs.join("&"));
    }
    shown
}

#[cfg(test)]
mod tests {
    #[test]
    fn no_password_shows_however_the_url_is_written() {
        for (text, secret) in [
            (
                "postgres:/postgres:S3cr3tPW_xyz@127.0.0.1/audit",
                "S3cr3tPW_xyz",
            ),
            (
                "host=127.0.0.1 user=u password=S3cr3tPW_xyz dbname=audit",
                "S3cr3tPW_xyz",
            ),
            (
                "postgres://odd:p@ss w:rd/%+@127.0.0.1:55432/audit",
                "ss w:rd",
            ),
            ("postgres://u:pw?x@h/db?password=a@bcd", "bcd"),
            ("postgres://u@h/db?password=ab@cd&sslmode=require", "cd&"),
        ] {
            let shown = super::redacted(text);
            assert!(!shown.contains(secret), "{text} -> {shown}");
        }
        assert_eq!(
            super::redacted("postgres://odd:p@ss w:rd/%+@127.0.0.1:55432/audit"),
            "postgres://odd:****@127.0.0.1:55432/audit"
        );
    }

    use super::*;

    #[test]
    fn a_password_is_never_shown() {
        for (url, shown) in [
            (
                "postgres://audit:s3cr%40t@db.example.com:5432/warehouse?sslmode=require",
                "postgres://audit:****@db.example.com:5432/warehouse?sslmode=require",
            ),
            (
                "postgresql://audit@db/w?password=s3cr%40t&sslmode=disable",
                "postgresql://audit@db/w?password=****&sslmode=disable",
            ),
            ("postgres://db/w", "postgres://db/w"),
            ("sqlite:changes.db", "sqlite:changes.db"),
        ] {
            assert_eq!(redacted(url), shown);
            let parsed = DatabaseUrl::parse(&Secret::new(url), None).unwrap();
            assert_eq!(parsed.shown, shown);
            assert!(!format!("{parsed:?}").contains("s3cr"), "{parsed:?}");
            if let Target::Postgres(p) = &parsed.target {
                assert!(!format!("{:?}", p.config).contains("s3cr"));
            }
        }
    }

    #[test]
    fn sslmode_is_read_as_libpq_reads_it() {
        let mode = |url: &str| match DatabaseUrl::parse(&Secret::new(url), None).map(|i| i.target) {
            Ok(Target::Postgres(p)) => Ok(p.tls),
            Ok(Target::Sqlite(_)) => panic!("sqlite"),
            Err(e) => Err(e.to_string()),
        };
        assert_eq!(mode("postgres://h/d"), Ok(TlsMode::Prefer));
        assert_eq!(mode("postgres://h/d?sslmode=disable"), Ok(TlsMode::Disable));
        assert_eq!(mode("postgres://h/d?sslmode=require"), Ok(TlsMode::Require));
        assert_eq!(
            mode("postgres://h/d?sslmode=require&sslrootcert=/ca.pem"),
            Ok(TlsMode::VerifyCa)
        );
        assert_eq!(
            mode("postgres://h/d?sslmode=verify-full"),
            Ok(TlsMode::VerifyFull)
        );
        assert!(
            mode("postgres://h/d?sslmode=allow")
                .unwrap_err()
                .contains("sslmode=allow")
        );
    }

    #[test]
    fn pgpassword_is_used_only_when_the_url_has_none() {
        let parse = |url: &str| {
            let into =
                DatabaseUrl::parse(&Secret::new(url), Some(Secret::new("from-env"))).unwrap();
            match into.target {
                Target::Postgres(p) => p.config.get_password().map(|p| p.to_vec()),
                Target::Sqlite(_) => None,
            }
        };
        assert_eq!(parse("postgres://u@h/d"), Some(b"from-env".to_vec()));
        assert_eq!(parse("postgres://u:x@h/d"), Some(b"x".to_vec()));
    }

    #[test]
    fn other_parameters_are_kept_as_written_and_no_host_is_the_local_socket() {
        let config = |url: &str| match DatabaseUrl::parse(&Secret::new(url), None).unwrap().target {
            Target::Postgres(p) => p.config,
            _ => panic!("{url}"),
        };
        let c = config("postgres://u@h/d?application_name=audit%20job&sslmode=disable");
        assert_eq!(c.get_application_name(), Some("audit job"));
        let c = config("postgres:///d");
        assert!(
            matches!(c.get_hosts(), [tokio_postgres::config::Host::Unix(_)]),
            "{:?}",
            c.get_hosts()
        );
        let c = config("postgres://u@/d?host=/run/pg");
        assert_eq!(
            c.get_hosts(),
            [tokio_postgres::config::Host::Unix("/run/pg".into())]
        );
    }

    #[test]
    fn a_user_part_with_an_unencoded_at_slash_or_question_mark_is_refused() {
        for url in [
            "postgres://audit:Pa55:w@rd/x@127.0.0.1:5433/wh",
            "postgres://audit:pa/ss@h/d",
            "postgres://audit:pa?ss@h/d",
        ] {
            let e = DatabaseUrl::parse(&Secret::new(url), None).unwrap_err();
            assert!(e.to_string().contains("percent-encode"), "{e}");
            assert!(
                !e.to_string().contains("Pa55") && !e.to_string().contains("ss@"),
                "{e}"
            );
        }
        for url in [
            "postgres://audit:Pa55%3Aw%40rd%2Fx@127.0.0.1:5433/wh",
            "postgres://u:p@h/d?application_name=a@b",
            "postgres:///d",
        ] {
            assert!(DatabaseUrl::parse(&Secret::new(url), None).is_ok(), "{url}");
        }
    }

    #[test]
    fn other_schemes_are_refused() {
        for url in ["mysql://u:pw@h/d", "sqlite:", "changes.db"] {
            let e = DatabaseUrl::parse(&Secret::new(url), None).unwrap_err();
            assert_eq!(e.exit_code(), 2);
            assert!(!e.to_string().contains("pw@"), "{e}");
        }
    }
}
