import fs from "node:fs";
import path from "node:path";
import type { ToolOutcome } from "../tool-signals.ts";
import type { ToolKit, WorkerDefinition, WorkerDeps, WorkerInput, WorkerOutput } from "../types.ts";
import { SEARCH_TOOL, answerFromKnowledge, searchTool, type KnowledgeAnswer } from "../knowledge-tools.ts";
import { money } from "./billing-repo.ts";
import { REFUND_PROCESSING } from "./refund-policy.ts";
import { LINK_HELP, NOT_LINKED, billingTools } from "./tools.ts";

const bullet = (text: string) => text.split("\n").map((l) => `- ${l}`).join("\n");

/**
 * A question about this customer's own account (their charges, invoices, refunds, balance), which
 * only the billing tables answer. Anything else that the knowledge base answers — how refunds
 * work, what a plan costs, how VAT appears on invoices — is a policy question, answered from the
 * article whether or not the chat account is linked.
 */
const ACCOUNT_QUESTION: readonly RegExp[] = [
  /\b(charged|billed|paid|debited)\b.*\b(twice|two times|2 times|double)\b/i,
  /\b(i|i'm|i've|me|my|we|our)\b.*\b(double|duplicate)\b|\b(double|duplicate)\b.*\b(on my|to my|me)\b/i,
  /\binv[-\s#]*\d{3,}\b|\bpay_\w+/i,
  /\bstatus of (my|the|our)\b|\bwhere('?s| is) (my|our)\b|\bdid (my|our|the) (refund|payment|charge)\b|\bhaven'?t (got|gotten|received)\b/i,
  /\bhow much do (i|we) owe\b|\b(my|our|open|outstanding) balance\b/i,
  /\b(show|list|send|give|see|copy of|download)\b.*\b(my|our)\b.*\b(invoices?|bills?|receipts?|payments?|charges?|refunds?)\b/i,
  /\b(my|our) (last|latest|recent|previous|current) (invoice|bill|receipt|payment|charge|refund)s?\b/i,
  /\bwhy (is|was) (my|our) (bill|invoice|charge|payment)\b|\bcharged me\b|\brefund it\b/i,
];

/** Billing: account, invoices, payments, refunds — always of the caller's own linked account — and billing policy from the knowledge base. */
export const billingWorker: WorkerDefinition = {
  name: "billing",
  title: "Billing",
  description:
    "Charges, payments, invoices, receipts, refunds and their status, double charges, plan price and account balance of the customer's own account.",
  examples: [
    "I was charged twice this month",
    "where can I download my invoice",
    "can I get a refund for last month",
    "what's the status of my refund",
    "my payment failed",
    "why is my bill higher than usual",
    "show me invoice INV-1004",
    "how much do I owe",
  ],
  systemPrompt: [
    "You are the billing specialist of Acme Cloud's support team.",
    "Answer only from what your tools return; never invent amounts, dates or invoice numbers.",
    "The tools already know who the customer is. If a tool returns NOT_LINKED, tell the user their chat account is not linked and how to link it (Acme dashboard → Settings → Integrations → Connect chat) and show nothing else.",
    "Refund policy: a charge is refundable in full within 30 days; duplicate charges are always refunded; refunds above the approval limit wait for a person's approval; refunds take 5–10 business days.",
    "A question about how billing works (policies, prices, plans, invoices, VAT, payment methods) is answered from search_knowledge_base, citing the article as a markdown link [title](url), whether or not the account is linked; add the customer's own data only when it helps and the account is linked.",
    "Before requesting a refund, check eligibility. If request_refund says the refund waits for a person's approval, say a person from the billing team will approve it and reply here.",
    "Be brief and concrete: amounts, dates, invoice numbers, next step.",
  ].join("\n"),
  tools: (deps) => [...billingTools(deps), searchTool(deps.knowledge)],
  demoSql: fs.readFileSync(path.join(import.meta.dirname, "demo-data.sql"), "utf8"),

  async answerOffline(input, tools, deps) {
    const output = await answerAccount(input, tools, deps);
    const context = outageContext(input.inputs);
    return context ? { ...output, reply: `${context}\n\n${output.reply}` } : output;
  },

  // Results that are the whole answer, as the offline engine words them: a refund now requested
  // (or waiting for approval), one invoice looked up, an account that is not linked.
  answerFromTools(round, input) {
    const only = round.length === 1 ? round[0]! : undefined;
    if (only?.name === "request_refund" && (only.signal?.signal === "refund_requested" || only.signal?.signal === "needs_approval")) {
      const duplicate = /duplicate|twice|double/i.test(`${String(only.args["reason"] ?? "")} ${input.question}`);
      return refundReply(duplicate ? "You're right — you were charged twice." : "", { text: only.text, signal: only.signal }, duplicate);
    }
    if (only?.name === "get_invoice" && only.text !== NOT_LINKED && !only.text.startsWith("No invoice")) {
      return { status: "ok", reply: `${only.text}\n\n${INVOICE_PDFS}`, sources: [] };
    }
    const billingOnly = round.length > 0 && round.every((c) => c.name !== SEARCH_TOOL && c.name !== "escalate_to_human" && c.name !== "cannot_answer");
    if (billingOnly && round.every((c) => c.text === NOT_LINKED)) return { status: "ok", reply: LINK_HELP, sources: [] };
    return undefined;
  },
};

const INVOICE_PDFS = "You can download every invoice as a PDF from the Acme dashboard → Settings → Billing → Invoices.";

/**
 * What tech support found, when this step waited for it ("is the service down? if so, can I get a
 * refund for today"): the incident that backs the request, or that there was none. Read from its
 * findings as data (`facts.incident`, `facts.allOperational`), not from its prose.
 */
function outageContext(inputs: WorkerInput["inputs"]): string | undefined {
  for (const i of inputs ?? []) {
    if (i.worker !== "tech_support" || (i.status !== "ok" && i.status !== "needs_human")) continue;
    const incident = i.facts.incident as { title?: unknown } | null | undefined;
    if (typeof incident?.title === "string") return `Tech support confirmed an open incident (${incident.title}), which backs your request.`;
    if (i.facts.allOperational === true) return "Tech support found no open incident on our status page right now, so I can only go by the refund policy.";
  }
  return undefined;
}

/** The billing answer proper: policy from the knowledge base, the customer's own account from the tools. */
async function answerAccount(input: WorkerInput, tools: ToolKit, deps: WorkerDeps): Promise<WorkerOutput> {
  const q = input.question.toLowerCase();
  const accountQuestion = ACCOUNT_QUESTION.some((re) => re.test(input.question));
  const policy = accountQuestion ? undefined : answerFromKnowledge(deps.knowledge, input.question, "faq");
  if (policy) {
    await tools.call(SEARCH_TOOL, { query: input.question });
    return policyReply(q, policy, tools);
  }
  const first = await tools.call("account_summary");
  if (first === NOT_LINKED) return { status: "ok", reply: LINK_HELP, sources: [] };

  const invoiceNumber = input.question.match(/\b(?:inv[-\s#]*)?(\d{4,})\b/i)?.[1];
  if (/\b(twice|double|duplicate|two charges|charged (2|two)|same charge)/.test(q)) {
    const payments = await tools.call("list_payments", { limit: 10 });
    const dup = payments.split("\n").find((l) => l.includes("DUPLICATE"));
    if (!dup) {
      return { status: "ok", reply: `I don't see a duplicate charge on your account. Your recent charges:\n${bullet(payments)}\n\nIf one of these looks wrong, tell me which and I'll check it.`, sources: [] };
    }
    const paymentId = dup.split(":")[0]!;
    const outcome = await tools.run("request_refund", { payment_id: paymentId, reason: "duplicate charge" });
    return refundReply(`You're right — you were charged twice:\n- ${dup}`, outcome, true);
  }
  if (/refund|money back|reimburs|compensation/.test(q)) {
    const status = await tools.call("refund_status");
    const elig = await tools.call("check_refund_eligibility");
    const wantsStatus = /status|where|track|when|processed|received|yet/.test(q);
    return {
      status: "ok",
      reply: wantsStatus
        ? `Your refunds:\n${bullet(status)}\n\nRefunds take 5–10 business days to reach your card once requested.`
        : `Here is what I can see:\n${bullet(elig)}\n\nYour existing refund requests:\n${bullet(status)}\n\nTell me "refund it" with the payment id and I'll request it.`,
      sources: [],
    };
  }
  if (/invoice|receipt|bill\b|statement/.test(q)) {
    if (invoiceNumber) {
      const one = await tools.call("get_invoice", { number: `INV-${invoiceNumber}` });
      return { status: "ok", reply: `${one}\n\n${INVOICE_PDFS}`, sources: [] };
    }
    const list = await tools.call("list_invoices", { limit: 4 });
    return { status: "ok", reply: `Your latest invoices:\n${bullet(list)}\n\nPDFs are in the Acme dashboard → Settings → Billing → Invoices.`, sources: [] };
  }
  if (/pay|charge|card|deduct|debit|transaction/.test(q)) {
    const payments = await tools.call("list_payments", { limit: 5 });
    return { status: "ok", reply: `Your recent payments:\n${bullet(payments)}`, sources: [] };
  }
  // The account summary answers a question about the account; anything else is not billing's
  // to answer (a step passed on to billing, say), and the supervisor offers it elsewhere.
  if (!BILLING_WORDS.test(q)) return { status: "declined", reply: "That isn't something I can see on your billing account.", sources: [], facts: { declined: "not about the customer's billing account" } };
  return { status: "ok", reply: `Here is your account:\n${bullet(first)}`, sources: [] };
}

/** Words of a question about the customer's own billing account. */
const BILLING_WORDS = /\b(account|plan|subscri\w*|balance|owe|owed|billing|bill|bills|price|cost|costs|seats?|upgrade|downgrade|cancel\w*|money|paid|pay\w*|charg\w*|refund\w*|invoice\w*|receipt\w*|card|credit|debit\w*|vat|tax|renew\w*|trial)\b/i;

/**
 * A policy question answered from its article, followed by what the customer's own account says
 * about it when the account is linked and has something to say (their refunds under a refund
 * question, their plan under a pricing one). Unlinked, the article alone: it is the answer.
 */
async function policyReply(q: string, policy: KnowledgeAnswer, tools: ToolKit): Promise<WorkerOutput> {
  const parts = [policy.text];
  if (/refund|money back/.test(q)) {
    // "Can I get a refund?": whether their latest charge can be; otherwise where their refunds stand.
    if (/\b(can|could|may) (i|we) (get|have|ask|request)\b/.test(q)) {
      const eligibility = await tools.call("check_refund_eligibility");
      if (eligibility !== NOT_LINKED) parts.push(`On your account:\n${bullet(eligibility)}`);
    }
    const status = await tools.call("refund_status");
    if (status !== NOT_LINKED && !status.startsWith("No refunds")) parts.push(`Your refund requests:\n${bullet(status)}`);
  } else if (/\b(plan|price|pricing|cost|costs|upgrade|downgrade|seats?)\b/.test(q)) {
    const summary = await tools.call("account_summary");
    const account = summary === NOT_LINKED ? undefined : summary.split("\n")[0];
    if (account) parts.push(`Your account: ${account.replace(/^Account: /, "")}`);
  }
  return { status: "ok", reply: parts.join("\n\n"), sources: policy.sources };
}

/**
 * The reply to a refund request, from the tool's signal: requested, waiting for approval, or
 * neither. `duplicate`: the refunded payment was a double charge (said as the reason it is granted).
 */
function refundReply(lead: string, outcome: ToolOutcome, duplicate: boolean): WorkerOutput {
  const s = outcome.signal;
  const paragraphs = (...ps: string[]) => ps.filter(Boolean).join("\n\n");
  if (s?.signal === "needs_approval") {
    return {
      status: "needs_human",
      reply: paragraphs(lead, `I've opened refund ${s.refundId} for ${money(s.amountCents, s.currency)}, but refunds above ${money(s.limitCents, s.currency)} need a person's approval. A person from our billing team will approve it and reply here.`),
      sources: [],
      handoff: { reason: "needs_approval", detail: s.detail },
    };
  }
  if (s?.signal === "refund_requested") {
    const refund = `refund ${s.refundId} of ${money(s.amountCents, s.currency)} for payment ${s.paymentId}`;
    const why = duplicate ? "Duplicate charges are always refunded, so I've requested it" : "I've requested it";
    return { status: "ok", reply: paragraphs(lead, `${why}: ${refund}. Refunds take ${REFUND_PROCESSING}.`), sources: [] };
  }
  return { status: "ok", reply: paragraphs(lead, outcome.text), sources: [] };
}
