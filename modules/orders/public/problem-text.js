// The status page's first script, shared by account-panel.js and status-page.js: the one line to
// show for an API's problem+json answer.
async function problemText(response) {
  try {
    const problem = await response.json();
    const details = (problem.errors || []).map((e) => `${e.field || e.location}: ${e.message}`).join("; ");
    return [problem.detail || problem.title, details].filter(Boolean).join(" — ");
  } catch {
    return `${response.status} ${response.statusText}`;
  }
}
