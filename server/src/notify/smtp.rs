//! E-mail notifications through lettre: STARTTLS (the default) or implicit TLS by
//! rustls, the server's certificate checked against the webpki roots and an optional
//! CA file; plain SMTP only when asked, and then a password only to this machine.
//! Headers are encoded and folded by lettre (a long Chinese subject included).

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};

use crate::settings::Settings;

const TIMEOUT: Duration = Duration::from_secs(10);

/// `host[:port]`, the port defaulting by how the connection is protected.
fn host_and_port(server: &str, tls: &str) -> Result<(String, u16), String> {
    let default = match tls {
        "tls" => 465,
        "none" => 25,
        _ => 587,
    };
    match server.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && !host.ends_with(':') => {
            let port = port.parse().map_err(|_| format!("SMTP server {server:?}: the port is not a number"))?;
            Ok((host.trim_matches(['[', ']']).to_string(), port))
        }
        _ => Ok((server.trim_matches(['[', ']']).to_string(), default)),
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn tls_parameters(settings: &Settings, host: &str) -> Result<TlsParameters, String> {
    let mut builder = TlsParameters::builder(host.to_string());
    if !settings.smtp_ca_file.is_empty() {
        let pem = std::fs::read(&settings.smtp_ca_file)
            .map_err(|e| format!("PATROL_SMTP_CA_FILE {}: {e}", settings.smtp_ca_file))?;
        let ca =
            Certificate::from_pem(&pem).map_err(|e| format!("PATROL_SMTP_CA_FILE {}: {e}", settings.smtp_ca_file))?;
        builder = builder.add_root_certificate(ca);
    }
    builder.build_rustls().map_err(|e| format!("SMTP TLS: {e}"))
}

pub fn send(settings: &Settings, to: &[&str], subject: &str, body: &str) -> Result<(), String> {
    if settings.smtp_server.is_empty() {
        return Err("e-mail is not configured (PATROL_SMTP_SERVER)".into());
    }
    if to.is_empty() {
        return Err("no recipients".into());
    }
    let (host, port) = host_and_port(&settings.smtp_server, &settings.smtp_tls)?;
    let from: Mailbox =
        settings.smtp_from.parse().map_err(|e| format!("not an e-mail address: {}: {e}", settings.smtp_from))?;
    let mut message = Message::builder().from(from).subject(subject);
    for r in to {
        message = message.to(r.parse::<Mailbox>().map_err(|e| format!("not an e-mail address: {r}: {e}"))?);
    }
    let message = message.header(ContentType::TEXT_PLAIN).body(body.to_string()).map_err(|e| e.to_string())?;
    let tls = match settings.smtp_tls.as_str() {
        "tls" => Tls::Wrapper(tls_parameters(settings, &host)?),
        "none" => Tls::None,
        _ => Tls::Required(tls_parameters(settings, &host)?),
    };
    let mut transport = SmtpTransport::builder_dangerous(host.as_str()).port(port).tls(tls).timeout(Some(TIMEOUT));
    if !settings.smtp_user.is_empty() {
        if settings.smtp_tls == "none" && !is_loopback(&host) {
            return Err(format!(
                "refusing to send the SMTP password to {host} without TLS (PATROL_SMTP_TLS=none is for a relay on this machine)"
            ));
        }
        transport = transport.credentials(Credentials::new(settings.smtp_user.clone(), settings.smtp_password.clone()));
    }
    // lettre's errors name the server and the step, never the password.
    transport.build().send(&message).map_err(|e| format!("SMTP {host}:{port}: {e}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_port_defaults_by_how_the_connection_is_protected() {
        assert_eq!(host_and_port("mail.example.com", "starttls").unwrap(), ("mail.example.com".into(), 587));
        assert_eq!(host_and_port("mail.example.com", "tls").unwrap(), ("mail.example.com".into(), 465));
        assert_eq!(host_and_port("127.0.0.1:2525", "none").unwrap(), ("127.0.0.1".into(), 2525));
        assert_eq!(host_and_port("[::1]:25", "none").unwrap(), ("::1".into(), 25));
        assert!(host_and_port("mail:x", "tls").is_err());
    }

    #[test]
    fn a_password_goes_without_tls_only_to_this_machine() {
        let settings = Settings {
            smtp_server: "mail.example.com:25".into(),
            smtp_tls: "none".into(),
            smtp_user: "patrol".into(),
            smtp_password: "secret".into(),
            ..Settings::default()
        };
        let refused = send(&settings, &["a@example.com"], "主题", "正文").unwrap_err();
        assert!(refused.contains("without TLS") && !refused.contains("secret"), "{refused}");
        assert!(is_loopback("127.0.0.1") && is_loopback("::1") && is_loopback("localhost"));
        assert!(!is_loopback("10.0.0.1"));
    }
}
