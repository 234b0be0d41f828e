import { expect, test } from "bun:test";
import { cancellableStatuses, settledStatuses, statusRank } from "../domain/order-status";

// The page is plain HTML with its own copy of two status rules; these keep the copies true.
const page = await Bun.file(new URL("./index.html", import.meta.url)).text();
const literal = (name: string) => {
  const match = new RegExp(`const ${name} = ([\\[{][^\\]}]*[\\]}]);`).exec(page);
  if (!match) throw new Error(`no "const ${name} = …;" in index.html`);
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
  for (const status of Object.keys(statusRank)) expect(page).toContain(`.status.${status}`);
});
