//! An embedded Kafka-protocol broker for tests and `cargo xtask up`: librdkafka's mock cluster,
//! listening on 127.0.0.1 so other processes can connect to it.
//!
//! The mock cluster is not `Send`, so it lives on a thread of its own; [`EmbeddedBroker`] is a
//! handle that asks that thread to create topics. When `KAFKA_BROKERS` is set, tests and `up` use
//! that broker instead.

use std::sync::mpsc;

use rdkafka::mocking::MockCluster;
use rdkafka::types::RDKafkaErrorCode;

type Reply = mpsc::Sender<Result<(), String>>;

/// What the thread that owns the cluster is asked to do.
#[derive(Debug)]
enum Request {
    CreateTopic(String, i32),
    /// Takes the broker down (connections dropped, new ones refused) or back up.
    Down(bool),
}

/// A running embedded broker; it stops when the process exits.
#[derive(Debug)]
pub struct EmbeddedBroker {
    bootstrap: String,
    requests: mpsc::Sender<(Request, Reply)>,
}

impl EmbeddedBroker {
    /// Starts a one-node mock cluster.
    pub fn start() -> Result<Self, String> {
        let (ready_tx, ready_rx) = mpsc::channel();
        let (requests, inbox) = mpsc::channel::<(Request, Reply)>();
        std::thread::Builder::new()
            .name("embedded-kafka".into())
            .spawn(move || {
                let cluster = match MockCluster::new(1) {
                    Ok(cluster) => cluster,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(cluster.bootstrap_servers()));
                for (request, reply) in inbox {
                    let result = match request {
                        Request::CreateTopic(topic, partitions) => {
                            match cluster.create_topic(&topic, partitions, 1) {
                                // Idempotent: tests in one process create the same topics again.
                                Err(e)
                                    if e.rdkafka_error_code()
                                        == Some(RDKafkaErrorCode::TopicAlreadyExists) =>
                                {
                                    Ok(())
                                }
                                other => other,
                            }
                        }
                        Request::Down(true) => cluster.broker_down(-1),
                        Request::Down(false) => cluster.broker_up(-1),
                    };
                    let _ = reply.send(result.map_err(|e| e.to_string()));
                }
            })
            .map_err(|e| e.to_string())?;
        let bootstrap = ready_rx.recv().map_err(|e| e.to_string())??;
        Ok(Self {
            bootstrap,
            requests,
        })
    }

    /// The `bootstrap.servers` value, e.g. `127.0.0.1:39341`.
    pub fn bootstrap_servers(&self) -> &str {
        &self.bootstrap
    }

    /// Creates a topic; a topic that exists already is left as it is.
    pub fn create_topic(&self, topic: &str, partitions: i32) -> Result<(), String> {
        self.ask(Request::CreateTopic(topic.to_owned(), partitions))
    }

    /// Takes the broker down (`true`: its connections dropped, new ones refused, as when the
    /// broker's node fails) or brings it back; what it stored is kept. For tests of what a
    /// service does while Kafka is unreachable.
    pub fn set_down(&self, down: bool) -> Result<(), String> {
        self.ask(Request::Down(down))
    }

    fn ask(&self, request: Request) -> Result<(), String> {
        let (reply, answer) = mpsc::channel();
        self.requests
            .send((request, reply))
            .map_err(|_| "embedded broker stopped".to_owned())?;
        answer
            .recv()
            .map_err(|_| "embedded broker stopped".to_owned())?
    }
}
