//! A lean HTTP/1.1 client for load generation: keep-alive connections taken from a pool, one
//! request in flight on each, the request written as prepared bytes and the answer parsed with
//! [`httparse`] on the task that sent it.
//!
//! A general client (reqwest, hyper's pool) hands every request to a connection task over a
//! channel and builds a request object, a header map and a response object each time: a few tens
//! of microseconds of CPU, which is what a load generator cannot spend when it shares two cores
//! with the service it must offer four times the capacity of (tens of thousands of requests a
//! second). Here a request costs one write and one or two reads on the caller's own task.
//!
//! What it understands of an answer is what a load generator needs: the status, whether
//! `Retry-After` was sent, and a body delimited by `Content-Length` or chunked transfer coding
//! (read and dropped). An answer with `Connection: close`, or one it cannot parse, closes its
//! connection; a request never reuses a connection whose previous answer was not fully read.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use harness::wire::{Pool, Request};
//!
//! let pool = Pool::new("127.0.0.1:8080".parse().unwrap());
//! let request = Request::post_json("127.0.0.1:8080", "/event", br#"{"description":"x"}"#);
//! let answer = pool.send(&request).await?;
//! assert!(answer.status == 200 || (answer.status == 429 && answer.retry_after));
//! # Ok(())
//! # }
//! ```

use std::{
    io,
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// Headers an answer may carry at most (more is an error).
const MAX_HEADERS: usize = 32;
/// Bytes read at a time.
const READ_CHUNK: usize = 16 * 1024;
/// The largest answer head accepted.
const MAX_HEAD: usize = 64 * 1024;

/// A request as the bytes to write: head and body.
#[derive(Debug, Clone)]
pub struct Request {
    bytes: Vec<u8>,
}

impl Request {
    /// `GET path` of `host` (the `Host` header, such as `127.0.0.1:8080`).
    pub fn get(host: &str, path: &str) -> Self {
        Self {
            bytes: format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n").into_bytes(),
        }
    }

    /// `POST path` of `host` with a JSON body.
    pub fn post_json(host: &str, path: &str, body: &[u8]) -> Self {
        let mut bytes = format!(
            "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        bytes.extend_from_slice(body);
        Self { bytes }
    }
}

/// What the generator learns of an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// Whether a `Retry-After` header came with it.
    pub retry_after: bool,
}

/// Keep-alive connections to one address; cheap to clone (clones share the connections).
#[derive(Debug, Clone)]
pub struct Pool {
    addr: SocketAddr,
    idle: Arc<Mutex<Vec<Connection>>>,
}

impl Pool {
    /// An empty pool for `addr`: connections are opened as requests need them.
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            idle: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Sends `request` on an idle connection (a new one if none is idle) and reads the answer.
    /// The connection goes back to the pool unless the answer closed it or something failed.
    pub async fn send(&self, request: &Request) -> io::Result<Answer> {
        let idle = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let mut connection = match idle {
            Some(connection) => connection,
            None => Connection::open(self.addr).await?,
        };
        let (answer, reusable) = connection.exchange(&request.bytes).await?;
        if reusable {
            if let Ok(mut idle) = self.idle.lock() {
                idle.push(connection);
            }
        }
        Ok(answer)
    }
}

/// One keep-alive connection and its read buffer.
#[derive(Debug)]
struct Connection {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Connection {
    async fn open(addr: SocketAddr) -> io::Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            buffer: Vec::with_capacity(READ_CHUNK),
        })
    }

    /// Writes `request`, reads one whole answer; also says whether the connection may be reused.
    async fn exchange(&mut self, request: &[u8]) -> io::Result<(Answer, bool)> {
        self.buffer.clear();
        self.stream.write_all(request).await?;
        let (answer, head_len, body, close) = loop {
            self.fill().await?;
            if let Some(parsed) = parse_head(&self.buffer)? {
                break parsed;
            }
            if self.buffer.len() > MAX_HEAD {
                return Err(invalid("an answer head over 64 KiB"));
            }
        };
        match body {
            Body::Length(length) => {
                while self.buffer.len() < head_len + length {
                    self.fill().await?;
                }
            }
            Body::Chunked => {
                let mut at = head_len;
                loop {
                    match chunk_end(&self.buffer[at..])? {
                        Some(Chunk::Data(next)) => at += next,
                        Some(Chunk::Last) => break,
                        None => self.fill().await?,
                    }
                }
            }
        }
        Ok((answer, !close))
    }

    /// Reads what is there (at least one byte) onto the end of the buffer; end of stream is an
    /// error.
    async fn fill(&mut self) -> io::Result<()> {
        if self.buffer.capacity() == self.buffer.len() {
            self.buffer.reserve(READ_CHUNK);
        }
        if self.stream.read_buf(&mut self.buffer).await? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection before answering",
            ));
        }
        Ok(())
    }
}

/// How an answer's body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    Length(usize),
    Chunked,
}

/// The answer's head, if `buffer` holds all of it: the answer, the head's length, the body's
/// delimitation and whether the server closes the connection.
fn parse_head(buffer: &[u8]) -> io::Result<Option<(Answer, usize, Body, bool)>> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let head_len = match response.parse(buffer) {
        Ok(httparse::Status::Complete(length)) => length,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(error) => return Err(invalid(&format!("an unparsable answer: {error}"))),
    };
    let status = response.code.unwrap_or(0);
    let mut retry_after = false;
    let mut close = false;
    let mut body = Body::Length(0);
    for header in response.headers.iter() {
        let value = std::str::from_utf8(header.value).unwrap_or_default().trim();
        if header.name.eq_ignore_ascii_case("retry-after") {
            retry_after = true;
        } else if header.name.eq_ignore_ascii_case("connection") {
            close = value.eq_ignore_ascii_case("close");
        } else if header.name.eq_ignore_ascii_case("content-length") {
            let length = value
                .parse()
                .map_err(|_| invalid("an unparsable Content-Length"))?;
            body = Body::Length(length);
        } else if header.name.eq_ignore_ascii_case("transfer-encoding")
            && value.eq_ignore_ascii_case("chunked")
        {
            body = Body::Chunked;
        }
    }
    let answer = Answer {
        status,
        retry_after,
    };
    Ok(Some((answer, head_len, body, close)))
}

/// One step through a chunked body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// A data chunk, this many bytes long in all (size line, data, CRLF).
    Data(usize),
    /// The last chunk and the end of the body.
    Last,
}

/// The chunk at the start of `buffer`, if all of it is there.
fn chunk_end(buffer: &[u8]) -> io::Result<Option<Chunk>> {
    let (size, line_len) = match httparse::parse_chunk_size(buffer) {
        Ok(httparse::Status::Complete((line_len, size))) => (size, line_len),
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(invalid("an unparsable chunk size")),
    };
    if size == 0 {
        // The last chunk: no trailers expected, just the final CRLF.
        return Ok((buffer.len() >= line_len + 2).then_some(Chunk::Last));
    }
    let total = line_len + usize::try_from(size).map_err(|_| invalid("a chunk over usize"))? + 2;
    Ok((buffer.len() >= total).then_some(Chunk::Data(total)))
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_gives_status_retry_after_and_length() {
        let answer =
            b"HTTP/1.1 429 Too Many Requests\r\nretry-after: 1\r\ncontent-length: 5\r\n\r\n{\"a\"";
        let (parsed, head_len, body, close) = parse_head(answer).unwrap().unwrap();
        assert_eq!(
            parsed,
            Answer {
                status: 429,
                retry_after: true
            }
        );
        assert_eq!(head_len, answer.len() - 4);
        assert_eq!(body, Body::Length(5));
        assert!(!close);
        assert!(parse_head(b"HTTP/1.1 200 OK\r\ncontent-le")
            .unwrap()
            .is_none());
    }

    #[test]
    fn connection_close_and_chunked_bodies_are_understood() {
        let head = b"HTTP/1.1 200 OK\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n";
        let (_, _, body, close) = parse_head(head).unwrap().unwrap();
        assert_eq!(body, Body::Chunked);
        assert!(close);
        assert_eq!(chunk_end(b"3\r\nabc\r\n").unwrap(), Some(Chunk::Data(8)));
        assert_eq!(chunk_end(b"3\r\nab").unwrap(), None);
        assert_eq!(chunk_end(b"0\r\n\r\n").unwrap(), Some(Chunk::Last));
        assert!(parse_head(b"NOT HTTP\r\n\r\n").is_err());
    }

    #[tokio::test]
    async fn a_pool_reuses_its_connection_over_keep_alive() {
        use tokio::net::TcpListener;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut seen = Vec::new();
            let mut buffer = [0u8; 1024];
            for reply in [
                "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}",
                "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
            ] {
                let read = socket.read(&mut buffer).await.unwrap();
                seen.push(String::from_utf8_lossy(&buffer[..read]).into_owned());
                socket.write_all(reply.as_bytes()).await.unwrap();
            }
            seen
        });
        let pool = Pool::new(addr);
        let request = Request::post_json("local", "/event", b"{}");
        let first = pool.send(&request).await.unwrap();
        let second = pool.send(&request).await.unwrap();
        assert_eq!(first.status, 200);
        assert!(!first.retry_after);
        assert_eq!(
            second,
            Answer {
                status: 429,
                retry_after: true
            }
        );
        let seen = server.await.unwrap();
        assert!(seen[0].starts_with("POST /event HTTP/1.1\r\n"), "{seen:?}");
        assert!(seen[1].ends_with("\r\n\r\n{}"), "{seen:?}");
    }
}
