#!/usr/bin/env node
// Times an ONNX model (lkm_to_onnx.py's output: one float input [N, ...], one float output) in
// ONNX Runtime through the npm package onnxruntime-node, as latentkit-sample bench times a
// decode: one session, the first run, warm-up runs, then timed runs; prints one JSON object.
//
//   node ort_bench.js MODEL.onnx --batch 25 [--threads 1] [--runs 50] [--warmup 5]
//                     [--max-seconds 10] [--input latents.raw] [--output images.raw]
//
// --input: raw little-endian float32 inputs (the batch is then their count / the per-example
// size); without it, fixed pseudo-random values. --output: writes the last run's output there,
// for the agreement check in compare.sh. Session options: intraOpNumThreads = --threads,
// interOpNumThreads 1, sequential execution, graph optimisation "all" (ONNX Runtime at its best on
// one core). onnxruntime-node is looked for in tools/bench/node_modules (tools/setup.sh puts it
// there) and then on node's usual path.
'use strict';
const fs = require('fs');
const path = require('path');

function fail(message) {
  process.stderr.write(`ort_bench.js: ${message}\n`);
  process.exit(1);
}

function loadOrt() {
  for (const where of [path.join(__dirname, 'node_modules', 'onnxruntime-node'), 'onnxruntime-node']) {
    try {
      return require(where);
    } catch (e) {
      if (e.code !== 'MODULE_NOT_FOUND') throw e;
    }
  }
  fail('onnxruntime-node is not installed (run tools/setup.sh)');
}

function parseArgs(argv) {
  const a = { model: null, batch: null, threads: 1, runs: 50, warmup: 5, maxSeconds: 10, input: null, output: null };
  const positive = (name, text, allowZero) => {
    if (!/^[0-9]+(\.[0-9]+)?$/.test(text || '')) fail(`${name}: '${text}' is not a number`);
    const v = Number(text);
    if (!(allowZero ? v >= 0 : v > 0)) fail(`${name}: '${text}' is out of range`);
    return v;
  };
  for (let i = 0; i < argv.length; ++i) {
    const arg = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) fail(`${arg} needs a value`);
      return argv[++i];
    };
    if (arg === '--batch') a.batch = positive(arg, next());
    else if (arg === '--threads') a.threads = positive(arg, next());
    else if (arg === '--runs') a.runs = positive(arg, next());
    else if (arg === '--warmup') a.warmup = positive(arg, next(), true);
    else if (arg === '--max-seconds') a.maxSeconds = positive(arg, next());
    else if (arg === '--input') a.input = next();
    else if (arg === '--output') a.output = next();
    else if (arg.startsWith('-')) fail(`unknown option '${arg}'`);
    else if (a.model === null) a.model = arg;
    else fail(`unexpected argument '${arg}'`);
  }
  if (a.model === null) fail('usage: node ort_bench.js MODEL.onnx --batch N [--threads T] [--runs R] [--warmup W]');
  for (const k of ['batch', 'threads', 'runs', 'warmup']) {
    if (a[k] !== null && !Number.isInteger(a[k])) fail(`--${k} takes a whole number`);
  }
  return a;
}

function sorted(values) {
  return [...values].sort((x, y) => x - y);
}
function median(s) {
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}
function p90(s) {
  return s[Math.max(Math.ceil(0.9 * s.length), 1) - 1];
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const ort = loadOrt();
  const nowMs = () => Number(process.hrtime.bigint()) / 1e6;
  const options = {
    intraOpNumThreads: a.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  };
  let t = nowMs();
  const session = await ort.InferenceSession.create(a.model, options);
  const sessionMs = nowMs() - t;
  if (session.inputNames.length !== 1 || session.outputNames.length !== 1) {
    fail(`${a.model}: expected one input and one output, got ${session.inputNames.length} and ${session.outputNames.length}`);
  }
  // The per-example shape from the graph's input (its first dimension is the batch, "N").
  const meta = session.inputMetadata ? session.inputMetadata[0] : null;
  let perExample = null;
  let dims = null;
  if (meta && Array.isArray(meta.shape)) {
    dims = meta.shape.slice(1).map(Number);
    perExample = dims.reduce((x, y) => x * y, 1);
  }
  let data;
  let batch = a.batch;
  if (a.input) {
    const bytes = fs.readFileSync(a.input);
    if (bytes.length % 4) fail(`${a.input}: ${bytes.length} bytes is not whole float32 values`);
    data = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
    if (perExample === null) fail('cannot read the model input shape (onnxruntime-node too old?)');
    if (data.length % perExample) fail(`${a.input}: ${data.length} values are not whole inputs of ${perExample}`);
    const count = data.length / perExample;
    if (batch !== null && batch !== count) fail(`--batch ${batch} but ${a.input} holds ${count} inputs`);
    batch = count;
  } else {
    if (batch === null) fail('--batch is needed without --input');
    if (perExample === null) fail('cannot read the model input shape (onnxruntime-node too old?)');
    data = new Float32Array(batch * perExample);
    let state = 12345;
    for (let i = 0; i < data.length; ++i) {  // fixed, roughly N(0, 1)-sized values
      state = (state * 1103515245 + 12345) >>> 0;
      data[i] = (state / 4294967296) * 4 - 2;
    }
  }
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, [batch, ...dims]) };

  t = nowMs();
  let result = await session.run(feeds);
  const firstMs = nowMs() - t;
  for (let i = 0; i < a.warmup; ++i) result = await session.run(feeds);
  const times = [];
  const cpuBefore = process.cpuUsage();
  const loopStart = nowMs();
  for (let r = 0; r < a.runs; ++r) {
    const s = nowMs();
    result = await session.run(feeds);
    const e = nowMs();
    times.push(e - s);
    if (r >= 2 && e - loopStart > a.maxSeconds * 1000) break;
  }
  const cpu = process.cpuUsage(cpuBefore);  // microseconds, every thread of the process
  if (a.output) {
    const out = result[session.outputNames[0]].data;
    fs.writeFileSync(a.output, Buffer.from(out.buffer, out.byteOffset, out.byteLength));
  }
  const s = sorted(times);
  const med = median(s);
  process.stdout.write(JSON.stringify({
    runtime: 'onnxruntime-node', version: ort.env.versions ? ort.env.versions.common : null, model: a.model,
    threads: a.threads, batch, runs: s.length, warmup: a.warmup, session_ms: sessionMs, first_decode_ms: firstMs,
    median_ms: med, p90_ms: p90(s), min_ms: s[0], max_ms: s[s.length - 1], median_per_image_ms: med / batch,
    cpu_ms_per_decode: (cpu.user + cpu.system) / 1000 / s.length,
    peak_rss_kib: Math.round(process.resourceUsage().maxRSS),
  }) + '\n');
}

main().catch((e) => fail(e && e.message ? e.message : String(e)));
