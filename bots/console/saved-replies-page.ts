import type { SavedReply } from "../../src/staff/saved-replies.ts";
import { SAVED_REPLY_BODY_MAX, SAVED_REPLY_TITLE_MAX } from "../../src/staff/saved-replies.ts";
import { html, type SafeHtml } from "./html.ts";
import { layout, type PageContext } from "./pages.ts";
import { when } from "./format.ts";
import { renderMarkdown } from "./markdown.ts";

/** The team's saved replies: add one; change or delete your own (a lead: any). */
export function savedRepliesPage(ctx: PageContext, replies: SavedReply[]): SafeHtml {
  const csrf = html`<input type="hidden" name="csrf" value="${ctx.csrf}">`;
  const mayChange = (r: SavedReply) => ctx.role === "lead" || r.createdBy.toLowerCase() === ctx.agent.toLowerCase();
  return layout(
    "Saved replies",
    html`<h1>Saved replies</h1>
<p class="meta">Answers the team sends often. Insert one from the picker under a handoff's reply box, then edit it before sending.</p>
<form class="saved-new" method="post" action="/console/saved-replies">${csrf}
  <label>Title <input name="title" required maxlength="${SAVED_REPLY_TITLE_MAX}" placeholder="Refund timeline"></label>
  <label>Reply (markdown) <textarea name="body" rows="4" required maxlength="${SAVED_REPLY_BODY_MAX}"></textarea></label>
  <button type="submit">Add saved reply</button>
</form>
${replies.length === 0
  ? html`<p class="empty" data-testid="saved-empty">No saved replies yet.</p>`
  : html`<ul class="saved" data-testid="saved-replies">${replies.map(
      (r) => html`<li data-saved="${r.id}">
  ${mayChange(r)
    ? html`<form method="post" action="/console/saved-replies/${r.id}">${csrf}
    <label>Title <input name="title" required maxlength="${SAVED_REPLY_TITLE_MAX}" value="${r.title}"></label>
    <label>Reply <textarea name="body" rows="3" required maxlength="${SAVED_REPLY_BODY_MAX}">${r.body}</textarea></label>
    <div class="row"><button type="submit">Save</button><span class="meta">by ${r.createdBy}, changed ${when(r.updatedAt, ctx.now)} by ${r.updatedBy}</span></div></form>
  <form method="post" action="/console/saved-replies/${r.id}/delete">${csrf}<button type="submit" class="secondary">Delete “${r.title}”</button></form>`
    : html`<h3>${r.title}</h3><div class="md">${renderMarkdown(r.body)}</div><p class="meta">by ${r.createdBy}; only they or a lead can change it.</p>`}
</li>`,
    )}</ul>`}`,
    ctx,
  );
}
