import { expect, test } from "bun:test";
import { cancellableStatuses, settledStatuses, statusRank } from "../domain/order-status";

// The page is plain HTML and scripts with their own copies of status rules; these keep the copies true.
const read = (name: string) => Bun.file(new URL(`./${name}`, import.meta.url)).text();
const [page, scripts, styles] = [await read("index.html"), (await read("status-page.js")) + (await read("account-panel.js")), await read("status-page.css")];
const literal = (name: string) => {
  const match = new RegExp(`const ${name} = ([\\[{][^\\]}]*[\\]}]);`).exec(scripts);
  if (!match) throw new Error(`no "const ${name} = …;" in the page's scripts`);
  return new Function(`return ${match[1]}`)() as unknown;
};

test("the page ranks statuses as the domain does (it keeps the furthest it has seen)", () => {
  expect(literal("rank")).toEqual(statusRank);
});

test("the page offers Cancel on the statuses a cancel applies to", () => {
  expect(literal("cancellable")).toEqual(cancellableStatuses);
});

test("the page re-reads the balance when an order settles: every status that moves money is one of those", () => {
  expect(literal("settled")).toEqual(settledStatuses);
});

test("every status has a look of its own", () => {
  for (const status of Object.keys(statusRank)) expect(styles).toContain(`.status.${status}`);
});

test("the page has no inline script or style, which its Content-Security-Policy would block", () => {
  expect(page).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
  expect(page).not.toMatch(/<style|\bstyle=|\bon[a-z]+=/i);
});
