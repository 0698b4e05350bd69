//! A small SMTP client for e-mail notifications: plain SMTP with optional AUTH PLAIN,
//! meant for a local relay (which does TLS onwards). Small on purpose: a full mail
//! crate costs more build time than the few commands we send.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use base64::Engine;

use crate::settings::Settings;

const TIMEOUT: Duration = Duration::from_secs(10);
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

struct Session {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Session {
    /// Reads one reply (possibly several lines) and checks its code.
    fn expect(&mut self, codes: &[u16]) -> Result<String, String> {
        let mut text = String::new();
        loop {
            let mut line = String::new();
            let n = self.reader.read_line(&mut line).map_err(|e| format!("SMTP read: {e}"))?;
            if n == 0 || line.len() < 4 {
                return Err(format!("SMTP connection ended: {text}{line}"));
            }
            text.push_str(&line);
            if line.as_bytes()[3] == b' ' {
                break;
            }
            if text.len() > 16 * 1024 {
                return Err("SMTP reply too long".into());
            }
        }
        let code: u16 = text.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
        if codes.contains(&code) { Ok(text) } else { Err(format!("SMTP server said: {}", text.trim())) }
    }

    fn command(&mut self, line: &str, codes: &[u16]) -> Result<String, String> {
        self.writer.write_all(format!("{line}\r\n").as_bytes()).map_err(|e| format!("SMTP write: {e}"))?;
        self.expect(codes)
    }
}

/// Header text outside ASCII as RFC 2047 encoded words.
fn header_text(s: &str) -> String {
    if s.is_ascii() { s.to_string() } else { format!("=?UTF-8?B?{}?=", B64.encode(s)) }
}

fn clean_address(a: &str) -> Result<&str, String> {
    if a.contains(['<', '>', '\r', '\n', ' ']) || !a.contains('@') || a.len() > 254 {
        return Err(format!("not an e-mail address: {a}"));
    }
    Ok(a)
}

pub fn send(settings: &Settings, to: &[&str], subject: &str, body: &str) -> Result<(), String> {
    if settings.smtp_server.is_empty() {
        return Err("e-mail is not configured (PATROL_SMTP_SERVER)".into());
    }
    if to.is_empty() {
        return Err("no recipients".into());
    }
    let from = clean_address(&settings.smtp_from)?;
    let addr = settings
        .smtp_server
        .to_socket_addrs()
        .map_err(|e| format!("SMTP server {}: {e}", settings.smtp_server))?
        .next()
        .ok_or("SMTP server has no address")?;
    let stream = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(|e| format!("SMTP connect: {e}"))?;
    stream
        .set_read_timeout(Some(TIMEOUT))
        .and_then(|_| stream.set_write_timeout(Some(TIMEOUT)))
        .map_err(|e| e.to_string())?;
    let writer = stream.try_clone().map_err(|e| e.to_string())?;
    let mut s = Session { reader: BufReader::new(stream), writer };
    s.expect(&[220])?;
    s.command("EHLO patrol", &[250])?;
    if !settings.smtp_user.is_empty() {
        let token = B64.encode(format!("\0{}\0{}", settings.smtp_user, settings.smtp_password));
        s.command(&format!("AUTH PLAIN {token}"), &[235])?;
    }
    s.command(&format!("MAIL FROM:<{from}>"), &[250])?;
    for r in to {
        s.command(&format!("RCPT TO:<{}>", clean_address(r)?), &[250, 251])?;
    }
    s.command("DATA", &[354])?;
    // The body goes base64-encoded: no line is too long and no line starts with a dot.
    let encoded = B64.encode(body.as_bytes());
    let lines: Vec<&str> =
        encoded.as_bytes().chunks(76).map(|c| std::str::from_utf8(c).expect("base64 is ASCII")).collect();
    let message = format!(
        "From: <{from}>\r\nTo: {}\r\nSubject: {}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n.",
        to.iter().map(|a| format!("<{a}>")).collect::<Vec<_>>().join(", "),
        header_text(subject),
        lines.join("\r\n")
    );
    s.command(&message, &[250])?;
    let _ = s.command("QUIT", &[221]);
    Ok(())
}
