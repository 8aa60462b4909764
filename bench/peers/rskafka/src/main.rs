//! bench/wal's rskafka peer: GreptimeDB's remote WAL access pattern on rskafka, its real Kafka client.
//!
//!   rskafka_wal -b BROKERS -t PREFIX -n COUNT [-s SIZE] [-r REGIONS] [-T TOPICS] [-w WINDOW]
//!               [--cdf FILE]
//!   rskafka_wal -b BROKERS --replay TOPIC [--region INDEX | --all-regions N] [-s SIZE]
//!
//! Append: the records of bench/wal_common.h (entry i: region index i % REGIONS, id
//! (1024 << 32) + index, topic PREFIX_(index % TOPICS), SIZE bytes of the shared word pool at
//! (i * 4099) % (POOL - SIZE + 1), GreptimeDB's JSON key), written as GreptimeDB's remote WAL
//! writes them: one producer task per topic, one Produce in flight per topic, each request
//! carrying what queued for the topic meanwhile up to max_batch_bytes (1 MiB, GreptimeDB's
//! default), the whole batch LZ4-compressed by rskafka.  At most WINDOW (8192) entries are
//! not yet acknowledged, as in wal_append's default run.
//!   entries=N mb=M seconds=S entries_per_s=E mb_per_s=R p50_ms=A p99_ms=B cpu_user=U
//!   cpu_sys=Y max_rss_kb=K batches=P requests=P
//!
//! --cdf FILE also writes the latency distribution there, as bench/wal_append --cdf does: one
//! "fraction latency_ms" line per quantile (every 0.5 %, then 99.5, 99.9, 99.99 and 100 %).
//!
//! Replay: GreptimeDB's replay of one region: partition 0 of TOPIC from the log start to the
//! high watermark in 1 MiB fetches, every record's key parsed as JSON to find its region,
//! the values of REGION (default 7, as bench/wal replays) kept.
//!   entries=N region_mb=X topic_mb=Y seconds=S region_mb_per_s=Q topic_mb_per_s=T records=R
//!   cpu_user=U cpu_sys=Y max_rss_kb=K
//!
//! --all-regions N: a restarting datanode's recovery as GreptimeDB does it, one replay per
//! region, regions 0..N-1 one after the other; the line sums them (entries, bytes, records read).
//!
//! Exit status 0, 1 when an append or fetch failed, 2 on bad usage.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use rskafka::client::partition::{Compression, OffsetAt, UnknownTopicHandling};
use rskafka::client::ClientBuilder;
use rskafka::record::Record;
use serde::Deserialize;
use tokio::sync::{mpsc, Semaphore};

const POOL_BYTES: usize = 1 << 20;
const REGION_BASE: u64 = 1024 << 32;
const MAX_BATCH_BYTES: usize = 1 << 20;

fn fill_pool() -> Vec<u8> {
    let words = [
        "kafka", "record", "batch", "offset", "partition", "leader", "replica", "segment",
        "append", "flush", "epoch", "region", "metric", "write", "table", "timestamp",
    ];
    let mut pool = Vec::with_capacity(POOL_BYTES);
    let mut x: u64 = 0x9E3779B97F4A7C15;
    while pool.len() < POOL_BYTES {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        for b in words[(x % 16) as usize].bytes() {
            if pool.len() < POOL_BYTES {
                pool.push(b);
            }
        }
        if pool.len() < POOL_BYTES {
            pool.push(b' ');
        }
    }
    pool
}

fn entry(pool: &[u8], i: u64, size: usize) -> &[u8] {
    let at = ((i * 4099) % (POOL_BYTES - size + 1) as u64) as usize;
    &pool[at..at + size]
}

fn greptimedb_key(region_id: u64) -> Vec<u8> {
    format!(
        "{{\"version\":0,\"tp\":\"Full\",\"entry_id\":0,\"ns\":{{\"region_id\":{},\"topic\":\"\"}}}}",
        region_id
    )
    .into_bytes()
}

/// What GreptimeDB reads from a record key.
#[derive(Deserialize)]
struct RecordMeta {
    #[allow(dead_code)]
    version: u32,
    #[allow(dead_code)]
    tp: String,
    #[allow(dead_code)]
    entry_id: u64,
    ns: Namespace,
}

#[derive(Deserialize)]
struct Namespace {
    region_id: u64,
    #[allow(dead_code)]
    topic: String,
}

fn usage_now() -> (f64, f64, i64) {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    (t(ru.ru_utime), t(ru.ru_stime), ru.ru_maxrss)
}

fn percentile_ms(sorted_us: &[u32], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let at = (p * (sorted_us.len() - 1) as f64 + 0.5) as usize;
    sorted_us[at] as f64 / 1000.0
}

/* The quantiles of a --cdf file (as bench/wal_common.h's wb_write_cdf). */
fn write_cdf(path: &str, sorted_us: &[u32]) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut qs: Vec<f64> = (0..200).map(|i| i as f64 / 200.0).collect();
    qs.extend_from_slice(&[0.995, 0.999, 0.9999, 1.0]);
    for q in qs {
        writeln!(f, "{:.4} {:.3}", q, percentile_ms(sorted_us, q))?;
    }
    f.flush()
}

struct Args {
    cdf: Option<String>,
    brokers: String,
    prefix: String,
    count: u64,
    size: usize,
    regions: u64,
    topics: u64,
    window: usize,
    replay: Option<String>,
    region: u64,
    all_regions: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        cdf: None,
        brokers: String::new(),
        prefix: String::new(),
        count: 0,
        size: 1024,
        regions: 1000,
        topics: 64,
        window: 8192,
        replay: None,
        region: 7,
        all_regions: 0,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < argv.len() {
        let v = argv.get(i + 1).ok_or(format!("{} needs a value", argv[i]))?;
        let num = |s: &str| s.parse::<u64>().map_err(|_| format!("{}: not a number: {}", argv[i], s));
        match argv[i].as_str() {
            "-b" => a.brokers = v.clone(),
            "-t" => a.prefix = v.clone(),
            "-n" => a.count = num(v)?,
            "-s" => a.size = num(v)? as usize,
            "-r" => a.regions = num(v)?,
            "-T" => a.topics = num(v)?,
            "-w" => a.window = num(v)? as usize,
            "--replay" => a.replay = Some(v.clone()),
            "--cdf" => a.cdf = Some(v.clone()),
            "--region" => a.region = num(v)?,
            "--all-regions" => a.all_regions = num(v)?,
            other => return Err(format!("unknown option {}", other)),
        }
        i += 2;
    }
    if a.brokers.is_empty()
        || (a.replay.is_none() && (a.prefix.is_empty() || a.count == 0))
        || a.size == 0
        || a.size > POOL_BYTES
        || a.regions == 0
        || a.topics == 0
        || a.window == 0
    {
        return Err("usage: rskafka_wal -b BROKERS -t PREFIX -n COUNT [-s SIZE] [-r REGIONS] \
                    [-T TOPICS] [-w WINDOW] [--cdf FILE] | -b BROKERS --replay TOPIC [--region INDEX] [-s SIZE]"
            .into());
    }
    Ok(a)
}

async fn append(a: Args) -> Result<(), String> {
    let client = Arc::new(
        ClientBuilder::new(a.brokers.split(',').map(String::from).collect())
            .build()
            .await
            .map_err(|e| format!("client: {e}"))?,
    );
    let pool = Arc::new(fill_pool());
    let window = Arc::new(Semaphore::new(a.window));
    let lat = Arc::new(std::sync::Mutex::new(Vec::<u32>::with_capacity(a.count as usize)));
    let requests = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let mut senders = Vec::new();
    let mut workers = Vec::new();
    for t in 0..a.topics {
        let pc = client
            .partition_client(format!("{}_{}", a.prefix, t), 0, UnknownTopicHandling::Retry)
            .await
            .map_err(|e| format!("partition client {}_{}: {e}", a.prefix, t))?;
        // Connections and metadata before the clock starts, as the other peers warm up.
        pc.get_offset(OffsetAt::Latest).await.map_err(|e| format!("warm-up: {e}"))?;
        let (tx, mut rx) = mpsc::unbounded_channel::<(u64, Instant)>();
        senders.push(tx);
        let (pool, window, lat, requests, failed) =
            (pool.clone(), window.clone(), lat.clone(), requests.clone(), failed.clone());
        let (size, regions) = (a.size, a.regions);
        workers.push(tokio::spawn(async move {
            // GreptimeDB's background producer: one request in flight, the queue batched.
            while let Some(first) = rx.recv().await {
                let mut batch = vec![first];
                let mut bytes = size;
                while bytes < MAX_BATCH_BYTES {
                    match rx.try_recv() {
                        Ok(e) => {
                            bytes += size;
                            batch.push(e);
                        }
                        Err(_) => break,
                    }
                }
                let now = chrono::Utc::now();
                let records: Vec<Record> = batch
                    .iter()
                    .map(|(i, _)| Record {
                        key: Some(greptimedb_key(REGION_BASE + i % regions)),
                        value: Some(entry(&pool, *i, size).to_vec()),
                        headers: Default::default(),
                        timestamp: now,
                    })
                    .collect();
                requests.fetch_add(1, Ordering::Relaxed);
                if pc.produce(records, Compression::Lz4).await.is_err() {
                    failed.fetch_add(batch.len() as u64, Ordering::Relaxed);
                }
                let done = Instant::now();
                let mut l = lat.lock().unwrap();
                for (_, t0) in &batch {
                    l.push(done.duration_since(*t0).as_micros().min(u32::MAX as u128) as u32);
                }
                drop(l);
                window.add_permits(batch.len());
            }
        }));
    }
    let (u0, s0, _) = usage_now();
    let start = Instant::now();
    for i in 0..a.count {
        window.acquire().await.map_err(|e| format!("window: {e}"))?.forget();
        let topic = ((i % a.regions) % a.topics) as usize;
        senders[topic].send((i, Instant::now())).map_err(|e| format!("queue: {e}"))?;
    }
    drop(senders);
    for w in workers {
        w.await.map_err(|e| format!("worker: {e}"))?;
    }
    let seconds = start.elapsed().as_secs_f64();
    let (u1, s1, rss) = usage_now();
    let bad = failed.load(Ordering::Relaxed);
    let ok = a.count - bad;
    let mb = ok as f64 * a.size as f64 / 1e6;
    let mut l = lat.lock().unwrap();
    l.sort_unstable();
    if let Some(path) = &a.cdf {
        if let Err(e) = write_cdf(path, &l) {
            eprintln!("rskafka_wal: {}: {}", path, e);
        }
    }
    let req = requests.load(Ordering::Relaxed);
    println!(
        "entries={} mb={:.1} seconds={:.3} entries_per_s={:.0} mb_per_s={:.2} p50_ms={:.2} \
         p99_ms={:.2} cpu_user={:.2} cpu_sys={:.2} max_rss_kb={} batches={} requests={}",
        ok,
        mb,
        seconds,
        ok as f64 / seconds,
        mb / seconds,
        percentile_ms(&l, 0.50),
        percentile_ms(&l, 0.99),
        u1 - u0,
        s1 - s0,
        rss,
        req,
        req
    );
    if bad > 0 {
        return Err(format!("{bad} of {} entries failed", a.count));
    }
    Ok(())
}

/// Entries, region bytes and records read by one region's replay.
async fn replay_region(
    pc: &rskafka::client::partition::PartitionClient,
    want: u64,
) -> Result<(u64, u64, u64), String> {
    let mut offset = pc.get_offset(OffsetAt::Earliest).await.map_err(|e| format!("{e}"))?;
    let end = pc.get_offset(OffsetAt::Latest).await.map_err(|e| format!("{e}"))?;
    let (mut records, mut entries, mut region_bytes) = (0u64, 0u64, 0u64);
    while offset < end {
        let (got, _hw) = pc
            .fetch_records(offset, 1..(MAX_BATCH_BYTES as i32), 500)
            .await
            .map_err(|e| format!("fetch at {offset}: {e}"))?;
        for r in &got {
            offset = offset.max(r.offset + 1);
            records += 1;
            let Some(key) = &r.record.key else { continue };
            let meta: RecordMeta = match serde_json::from_slice(key) {
                Ok(m) => m,
                Err(_) => continue, // not a GreptimeDB entry (a noop record)
            };
            if meta.ns.region_id == want {
                entries += 1;
                region_bytes += r.record.value.as_ref().map_or(0, |v| v.len() as u64);
            }
        }
    }
    Ok((entries, region_bytes, records))
}

async fn replay(a: Args, topic: String) -> Result<(), String> {
    let client = ClientBuilder::new(a.brokers.split(',').map(String::from).collect())
        .build()
        .await
        .map_err(|e| format!("client: {e}"))?;
    let pc = client
        .partition_client(topic.clone(), 0, UnknownTopicHandling::Error)
        .await
        .map_err(|e| format!("partition client {topic}: {e}"))?;
    let regions: Vec<u64> = if a.all_regions > 0 {
        (0..a.all_regions).collect()
    } else {
        vec![a.region]
    };
    let (u0, s0, _) = usage_now();
    let start = Instant::now();
    let (mut records, mut entries, mut region_bytes) = (0u64, 0u64, 0u64);
    for r in &regions {
        let (e, b, n) = replay_region(&pc, REGION_BASE + r).await?;
        if e == 0 {
            return Err(format!("no entry of region {r} in {topic}"));
        }
        entries += e;
        region_bytes += b;
        records += n;
    }
    let seconds = start.elapsed().as_secs_f64();
    let (u1, s1, rss) = usage_now();
    let region_mb = region_bytes as f64 / 1e6;
    let topic_mb = records as f64 * a.size as f64 / 1e6;
    println!(
        "entries={} region_mb={:.1} topic_mb={:.1} seconds={:.3} region_mb_per_s={:.2} \
         mb_per_s={:.2} topic_mb_per_s={:.1} records={} cpu_user={:.2} cpu_sys={:.2} \
         max_rss_kb={} topic_reads={}",
        entries,
        region_mb,
        topic_mb,
        seconds,
        region_mb / seconds,
        region_mb / seconds,
        topic_mb / seconds,
        records,
        u1 - u0,
        s1 - s0,
        rss,
        regions.len()
    );
    Ok(())
}

fn main() {
    let a = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("rskafka_wal: {e}");
            std::process::exit(2);
        }
    };
    // Two worker threads: the machine the bench is sized for has two cores.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let r = match a.replay.clone() {
        Some(t) => rt.block_on(replay(a, t)),
        None => rt.block_on(append(a)),
    };
    if let Err(e) = r {
        eprintln!("rskafka_wal: {e}");
        std::process::exit(1);
    }
}
