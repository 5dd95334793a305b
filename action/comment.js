// The pull-request comment of the partnerops action (action.yml at the
// repository's root), run by actions/github-script.
//
// One comment per pull request, found by its marker and rewritten on every
// run: the plan, or what stopped it (a config that does not validate, a plan
// that failed), so a stale plan never stands under a newer error. Each comment
// names the pull request's head commit it is for. A run whose commit is no
// longer the head does not write: the newer commit's run (concurrency cancels
// the older one, but a run past that point is not cancelled) has the say.

'use strict';

const fs = require('fs');

const MARKER = '<!-- partnerops-plan -->';
/** GitHub refuses comments over 65,536 characters. */
const LIMIT = 60000;

function read(path) {
  try {
    return path ? fs.readFileSync(path, 'utf8') : '';
  } catch (e) {
    return '';
  }
}

/** Text in a fenced block that no backticks inside can close. */
function fenced(text) {
  const runs = text.match(/`+/g) || [];
  const longest = runs.reduce((n, r) => Math.max(n, r.length), 2);
  const fence = '`'.repeat(longest + 1);
  const cut = text.length > LIMIT - 2000 ? `${text.slice(0, LIMIT - 2000)}\n… (cut)` : text;
  return `${fence}\n${cut.trimEnd()}\n${fence}`;
}

/**
 * The comment's body.
 * state: {validated: 'ok'|'failed', validateText, planned: 'ok'|'failed'|'skipped',
 *         planMarkdown, planError, exitCode, configDir}
 */
function body(state, { head, base, prUrl, runUrl }) {
  const short = head.slice(0, 7);
  const footer = `\n---\n<sub>For head commit [\`${short}\`](${prUrl}/commits/${head})` +
    (base ? ` merged with \`${base.slice(0, 7)}\`` : '') +
    ` · [run](${runUrl})</sub>\n<!-- partnerops-plan-head: ${head} -->`;
  let main;
  if (state.validated === 'failed') {
    main = `### partnerops: \`${state.configDir}\` does not validate\n\n` +
      'The errors are also annotated on the changed lines.\n\n' +
      fenced(state.validateText || 'partnerops validate failed');
  } else if (state.planned === 'failed') {
    main = `### partnerops plan failed for \`${state.configDir}\`\n\n` +
      'No plan: the one this comment held before is gone, since it is no longer true.\n\n' +
      fenced(state.planError || `partnerops plan exited ${state.exitCode}`);
  } else if (state.planned === 'skipped') {
    main = `### partnerops: \`${state.configDir}\` is valid\n\n` +
      'Not planned: this run has no engine URL or token (a pull request from a fork gets no secrets).';
  } else {
    main = state.planMarkdown.trimEnd();
  }
  return `${MARKER}\n${main}\n${footer}\n`;
}

/**
 * Writes the comment. Returns 'created', 'updated', 'stale' (a newer commit
 * is the head; nothing written) or 'not-a-pull-request'.
 */
async function comment({ github, context, core }, state) {
  const pr = context.payload.pull_request;
  if (!pr) {
    core.info('Not a pull request: no comment.');
    return 'not-a-pull-request';
  }
  const { owner, repo } = context.repo;
  const head = pr.head.sha;
  const { data: now } = await github.rest.pulls.get({ owner, repo, pull_number: pr.number });
  if (now.head.sha !== head) {
    core.notice(`This run is for ${head.slice(0, 7)}, but the pull request is now at ` +
      `${now.head.sha.slice(0, 7)}: its own run comments; this one does not.`);
    return 'stale';
  }
  const text = body(state, {
    head,
    base: pr.base && pr.base.sha,
    prUrl: pr.html_url,
    runUrl: `${context.serverUrl}/${owner}/${repo}/actions/runs/${context.runId}`,
  });
  const target = { owner, repo, issue_number: pr.number };
  const comments = await github.paginate(github.rest.issues.listComments, target);
  const previous = comments.find(
    (c) => c.user && c.user.type === 'Bot' && typeof c.body === 'string' && c.body.startsWith(MARKER),
  );
  if (previous) {
    await github.rest.issues.updateComment({ owner, repo, comment_id: previous.id, body: text });
    return 'updated';
  }
  await github.rest.issues.createComment({ ...target, body: text });
  return 'created';
}

/** What the action's steps left behind, read from their files. */
function stateFromFiles(env) {
  return {
    configDir: env.CONFIG_DIR,
    validated: env.VALIDATE_OUTCOME === 'success' ? 'ok' : 'failed',
    validateText: read(env.VALIDATE_TEXT),
    planned: env.PLAN_CODE === '' || env.PLAN_CODE === undefined
      ? 'skipped'
      : (env.PLAN_CODE === '1' ? 'failed' : 'ok'),
    planMarkdown: read(env.PLAN_MARKDOWN),
    planError: read(env.PLAN_ERROR),
    exitCode: env.PLAN_CODE,
  };
}

module.exports = { comment, body, stateFromFiles, MARKER };
