// Usage over time from the admin usage API (`GET /admin/v1/usage`, OpenAI's usage shape),
// per key or per model, drawn as two stacked bar charts.

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

async function readBuckets(period, group, starts) {
  const buckets = [];
  let page;
  for (let n = 0; n < MAX_PAGES; n += 1) {
    const answer = await call("GET", "/admin/v1/usage", {
      query: {
        start_time: starts[0],
        bucket_width: period.width,
        group_by: group,
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
  const requests = { ok: zeros(), failed: zeros() };
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
      requests.ok[i] += result.num_model_requests - result.num_failed_requests;
      requests.failed[i] += result.num_failed_requests;
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
  const counts = stackedBars(nodes.requests, {
    title: "Requests by status",
    labels,
    series: [
      { key: "ok", name: "Succeeded", values: requests.ok },
      { key: "failed", name: "Failed or refused", values: requests.failed },
    ],
  });
  const totalTokens = Object.values(tokens).reduce((a, b) => a + b, 0);
  const totalRequests = counts.ok + counts.failed;
  nodes.summary.textContent =
    `${totalRequests} requests (${counts.failed} failed or refused), ${totalTokens} tokens ` +
    `in this period${which ? ` for ${names.get(which) || which}` : ""}.`;
  nodes.summary.dataset.requests = String(totalRequests);
  return { tokens, counts };
}
