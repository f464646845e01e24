// Usage over time from the admin usage API (`GET /admin/v1/usage`, OpenAI's usage shape),
// per key or per model, drawn as two stacked bar charts: tokens by kind, requests by status.

import { call } from "./api.js";
import { stackedBars } from "./charts.js";

const HOUR = 3600;
const DAY = 86400;
const PERIODS = {
  "24h": { seconds: DAY, width: "1h", step: HOUR },
  "7d": { seconds: 7 * DAY, width: "1h", step: HOUR },
  "30d": { seconds: 30 * DAY, width: "1d", step: DAY },
};
const MAX_PAGES = 10;
const MAX_BUCKETS = { "1h": 168, "1d": 31 }; // the most one page of the usage API holds
const OK = "ok";
const CANCELLED = "cancelled"; // the client hung up: neither a success nor an error code
const WARM_TONES = 5; // s-warm-0 .. s-warm-4 in operator.css

function label(start, step) {
  const at = new Date(start * 1000);
  const two = (n) => String(n).padStart(2, "0");
  if (step === DAY) return `${two(at.getMonth() + 1)}-${two(at.getDate())}`;
  return `${two(at.getHours())}:00`;
}

/** The starts of the period's buckets, aligned as the server aligns them (UTC), the
 * current one last. */
function bucketStarts(period) {
  const now = Math.floor(Date.now() / 1000);
  const first = Math.floor((now - period.seconds) / period.step) * period.step + period.step;
  const starts = [];
  for (let at = first; at <= now; at += period.step) starts.push(at);
  return starts;
}

/** The requests chart's series, one per status in `counts` (status -> values): ok at the
 * bottom in green, cancelled in grey, then the error codes in order, each a warm tone of
 * its own (they repeat past five). ok is always there, so the legend never goes blank. */
function statusSeries(counts, zeros) {
  const errors = [...counts.keys()].filter((s) => s !== OK && s !== CANCELLED).sort();
  const series = [{ key: OK, name: OK, tone: "ok", values: counts.get(OK) || zeros() }];
  if (counts.has(CANCELLED)) {
    series.push({ key: CANCELLED, name: CANCELLED, tone: "cancelled", values: counts.get(CANCELLED) });
  }
  errors.forEach((status, i) => {
    series.push({ key: status, name: status, tone: `warm-${i % WARM_TONES}`, values: counts.get(status) });
  });
  return series;
}

async function readBuckets(period, group, starts) {
  const buckets = [];
  let page;
  for (let n = 0; n < MAX_PAGES; n += 1) {
    const answer = await call("GET", "/admin/v1/usage", {
      query: {
        start_time: starts[0],
        bucket_width: period.width,
        // the chosen owner for the "Show" filter, and the status for the requests chart
        group_by: [group, "status"],
        limit: Math.min(starts.length, MAX_BUCKETS[period.width]),
        page,
      },
    });
    buckets.push(...answer.data);
    if (!answer.has_more || !answer.next_page) break;
    page = answer.next_page;
  }
  return buckets;
}

/**
 * Reads and draws the usage `form` asks for. `names` maps a key id to its name for the
 * "Show" list. Returns the totals shown (for the summary line).
 */
export async function showUsage(form, names, nodes) {
  const period = PERIODS[form.elements.period.value];
  const group = form.elements.group.value;
  const which = form.elements.which.value;
  // every step of the period gets a bar, whether the ledger has a bucket for it or not
  const starts = bucketStarts(period);
  const buckets = await readBuckets(period, group, starts);
  const index = new Map(starts.map((at, i) => [at, i]));
  const zeros = () => starts.map(() => 0);
  const kinds = { input: zeros(), cached: zeros(), output: zeros(), reasoning: zeros() };
  const requests = new Map(); // status -> requests per bucket
  const seen = new Set();

  for (const bucket of buckets) {
    const i = index.get(bucket.start_time);
    for (const result of bucket.results) {
      const owner = result[group];
      if (owner) seen.add(owner);
      if (i === undefined || (which && owner !== which)) continue;
      // cached tokens are counted inside input, reasoning inside output: stack the rest
      kinds.input[i] += result.input_tokens - result.input_cached_tokens;
      kinds.cached[i] += result.input_cached_tokens;
      kinds.output[i] += result.output_tokens - result.output_reasoning_tokens;
      kinds.reasoning[i] += result.output_reasoning_tokens;
      if (!requests.has(result.status)) requests.set(result.status, zeros());
      requests.get(result.status)[i] += result.num_model_requests;
    }
  }

  const select = form.elements.which;
  const options = [["", "All"], ...[...seen].sort().map((id) => [id, names.get(id) ? `${names.get(id)} (${id})` : id])];
  select.replaceChildren(
    ...options.map(([value, text]) => {
      const option = document.createElement("option");
      option.value = value;
      option.textContent = text;
      return option;
    }),
  );
  select.value = seen.has(which) ? which : "";

  const labels = starts.map((at) => label(at, period.step));
  const tokens = stackedBars(nodes.tokens, {
    title: "Tokens by kind",
    labels,
    series: [
      { key: "input", name: "Input (uncached)", values: kinds.input },
      { key: "cached", name: "Cached input", values: kinds.cached },
      { key: "output", name: "Output", values: kinds.output },
      { key: "reasoning", name: "Reasoning", values: kinds.reasoning },
    ],
  });
  const series = statusSeries(requests, zeros);
  const counts = stackedBars(nodes.requests, { title: "Requests by status", labels, series });
  const totalTokens = Object.values(tokens).reduce((a, b) => a + b, 0);
  const totalRequests = Object.values(counts).reduce((a, b) => a + b, 0);
  const failed = totalRequests - counts[OK];
  const perStatus = series.map((s) => `${s.key} ${counts[s.key]}`).join(", ");
  nodes.summary.textContent =
    `${totalRequests} ${totalRequests === 1 ? "request" : "requests"} (${perStatus}; ${failed} failed or refused), ${totalTokens} ` +
    `tokens in this period${which ? ` for ${names.get(which) || which}` : ""}.`;
  nodes.summary.dataset.requests = String(totalRequests);
  nodes.summary.dataset.failed = String(failed);
  return { tokens, counts };
}
