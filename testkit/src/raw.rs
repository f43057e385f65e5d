//! The wire as a client written from `docs/PROTOCOL.md` sees it: JSON text frames over a
//! WebSocket and plain HTTP/1.1, no project types — for the tests that check the contract
//! itself, and those that misbehave on purpose.

use std::net::SocketAddr;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::WAIT;

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A WebSocket open on the hub's `/ws`, nothing said yet.
pub async fn open(addr: SocketAddr) -> Ws {
    open_with_cookie(addr, None).await
}

/// The same, sending `cookie` (`name=value`) with the upgrade, as a browser would.
pub async fn open_with_cookie(addr: SocketAddr, cookie: Option<&str>) -> Ws {
    let mut request = crate::url(addr).into_client_request().expect("request");
    if let Some(c) = cookie {
        request
            .headers_mut()
            .insert("cookie", c.parse().expect("a cookie header"));
    }
    // Without Nagle's delay, as the apps connect: a round trip is not held back 40 ms.
    tokio_tungstenite::connect_async_with_config(request, None, true)
        .await
        .expect("connect")
        .0
}

/// The hello of a demo device (its token is `demo-<device>`).
pub fn demo_hello(role: &str, device: &str) -> Value {
    hello_with_token(role, device, &format!("demo-{device}"))
}

pub fn hello_with_token(role: &str, device: &str, token: &str) -> Value {
    json!({"type": "hello", "protocol": 1, "role": role, "device": device, "token": token})
}

/// A demo device connected and welcomed: the socket and its welcome.
pub async fn device(addr: SocketAddr, role: &str, device: &str) -> (Ws, Value) {
    let mut ws = open(addr).await;
    let welcome = say(&mut ws, &demo_hello(role, device)).await;
    (ws, welcome)
}

/// Sends `hello` on `ws` and returns the hub's welcome, failing the test on anything else.
pub async fn say(ws: &mut Ws, hello: &Value) -> Value {
    send(ws, hello).await;
    let welcome = next(ws).await.expect("an answer to hello");
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    welcome
}

/// Sends one JSON text frame.
pub async fn send(ws: &mut Ws, message: &Value) {
    ws.send(Message::text(message.to_string()))
        .await
        .expect("sent");
}

/// The next JSON message, or `None` when the hub closes the connection (or it breaks). A hub
/// silent for [`WAIT`] fails the test.
pub async fn next(ws: &mut Ws) -> Option<Value> {
    loop {
        match tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("the hub answers in time")?
        {
            Ok(Message::Text(t)) => {
                return Some(serde_json::from_str(t.as_str()).expect("the hub sends JSON"));
            }
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

/// The next message of `kind` (`"reply"`, `"event"`, …), skipping the others.
pub async fn next_of(ws: &mut Ws, kind: &str) -> Option<Value> {
    loop {
        let message = next(ws).await?;
        if message["type"] == kind {
            return Some(message);
        }
    }
}

/// A plain HTTP/1.1 `GET`: the status and the body.
pub async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let (status, response) = get_whole(addr, path).await;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// The same with the whole response, headers included (0 for a response without a status).
pub async fn get_whole(addr: SocketAddr, path: &str) -> (u16, String) {
    request(addr, "GET", path, None, None).await
}

/// A plain HTTP/1.1 request, with a cookie (`name=value`) and a JSON body if given: the status
/// and the whole response.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    json: Option<&Value>,
) -> (u16, String) {
    request_from(None, addr, method, path, cookie, json).await
}

/// The same from the loopback address `local` (`127.x.y.z`), as another client would come:
/// for what the hub allows each address.
pub async fn request_from(
    local: Option<std::net::IpAddr>,
    addr: SocketAddr,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    json: Option<&Value>,
) -> (u16, String) {
    let headers: Vec<(&str, &str)> = cookie.map(|c| ("Cookie", c)).into_iter().collect();
    http_request(local, addr, method, path, &headers, json).await
}

/// The same through a reverse proxy that says who the client is (`X-Forwarded-For`).
pub async fn request_forwarded_for(
    addr: SocketAddr,
    method: &str,
    path: &str,
    client: &str,
    json: Option<&Value>,
) -> (u16, String) {
    http_request(
        None,
        addr,
        method,
        path,
        &[("X-Forwarded-For", client)],
        json,
    )
    .await
}

/// The same from the loopback address `local`, forwarding for `client`: a stranger writing
/// the header a proxy would.
pub async fn request_from_forwarded_for(
    local: Option<std::net::IpAddr>,
    addr: SocketAddr,
    method: &str,
    path: &str,
    client: &str,
    json: Option<&Value>,
) -> (u16, String) {
    http_request(
        local,
        addr,
        method,
        path,
        &[("X-Forwarded-For", client)],
        json,
    )
    .await
}

/// A request with headers of the caller's (say, a browser's `Accept: text/html`).
pub async fn request_with_headers(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, String) {
    http_request(None, addr, method, path, headers, None).await
}

async fn http_request(
    local: Option<std::net::IpAddr>,
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    json: Option<&Value>,
) -> (u16, String) {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: hub\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    let body = json.map(Value::to_string).unwrap_or_default();
    if json.is_some() {
        head.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    let mut tcp = match local {
        Some(local) => {
            let socket = tokio::net::TcpSocket::new_v4().expect("socket");
            socket
                .bind((local, 0).into())
                .expect("bind a loopback address");
            socket.connect(addr).await.expect("tcp")
        }
        None => tokio::net::TcpStream::connect(addr).await.expect("tcp"),
    };
    tcp.write_all(format!("{head}\r\n{body}").as_bytes())
        .await
        .expect("request");
    let mut response = String::new();
    tcp.read_to_string(&mut response).await.expect("response");
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, response)
}

/// Opens a socket (with `cookie`, if any), says `hello` and returns the hub's first answer,
/// whatever it is: a welcome or a refusal.
pub async fn first_answer(addr: SocketAddr, hello: &Value, cookie: Option<&str>) -> Value {
    let mut ws = open_with_cookie(addr, cookie).await;
    send(&mut ws, hello).await;
    next(&mut ws).await.expect("an answer to hello")
}

/// The cookie a response sets, as `name=value` to send back (its attributes checked: a
/// credential page scripts cannot read and other sites cannot send).
pub fn cookie_set(response: &str) -> String {
    let set = response
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .unwrap_or_else(|| panic!("no cookie set: {response}"));
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    set.split(';').next().unwrap_or_default().to_string()
}

/// The JSON body of a whole response (`Null` when it has none).
pub fn json_body(response: &str) -> Value {
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    serde_json::from_str(body).unwrap_or(Value::Null)
}
