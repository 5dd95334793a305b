// The pull-request comment's rules, against a stand-in for the GitHub API:
// node --test action/
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const { comment, body, MARKER } = require('./comment.js');

/** A pull request whose head is `head`, with `comments` on it. */
function github({ head, comments = [] }) {
  const calls = [];
  return {
    calls,
    comments,
    paginate: async (fn, args) => fn(args),
    rest: {
      pulls: { get: async () => ({ data: { head: { sha: head } } }) },
      issues: {
        listComments: () => comments,
        updateComment: async (args) => {
          calls.push(['update', args]);
          const c = comments.find((x) => x.id === args.comment_id);
          c.body = args.body;
        },
        createComment: async (args) => {
          calls.push(['create', args]);
          comments.push({ id: comments.length + 1, user: { type: 'Bot' }, body: args.body });
        },
      },
    },
  };
}

function context(head) {
  return {
    repo: { owner: 'o', repo: 'r' },
    serverUrl: 'https://github.com',
    runId: 7,
    payload: {
      pull_request: { number: 5, head: { sha: head }, base: { sha: 'b'.repeat(40) }, html_url: 'https://github.com/o/r/pull/5' },
    },
  };
}

const core = { info() {}, notice() {} };
const planned = { configDir: 'program', validated: 'ok', planned: 'ok', planMarkdown: '### partnerops plan for `p`\n\n**Plan: 1 to create, 0 to update, 0 to delete.**\n' };
const A = 'a'.repeat(40);
const C = 'c'.repeat(40);

test('the first run creates the comment, naming the head commit', async () => {
  const gh = github({ head: A });
  assert.strictEqual(await comment({ github: gh, context: context(A), core }, planned), 'created');
  const text = gh.comments[0].body;
  assert.ok(text.startsWith(MARKER));
  assert.ok(text.includes('Plan: 1 to create'));
  assert.ok(text.includes('For head commit [`aaaaaaa`](https://github.com/o/r/pull/5/commits/' + A + ')'));
  assert.ok(text.includes(`<!-- partnerops-plan-head: ${A} -->`));
});

test('a later run updates the one comment in place', async () => {
  const gh = github({ head: A, comments: [{ id: 1, user: { type: 'User' }, body: 'lgtm' }, { id: 2, user: { type: 'Bot' }, body: `${MARKER}\nold` }] });
  assert.strictEqual(await comment({ github: gh, context: context(A), core }, planned), 'updated');
  assert.strictEqual(gh.comments.length, 2);
  assert.ok(gh.comments[1].body.includes('Plan: 1 to create'));
  assert.strictEqual(gh.comments[0].body, 'lgtm');
});

test('a run for an older commit never overwrites the newer comment', async () => {
  const newer = `${MARKER}\nthe plan for c`;
  const gh = github({ head: C, comments: [{ id: 1, user: { type: 'Bot' }, body: newer }] });
  assert.strictEqual(await comment({ github: gh, context: context(A), core }, planned), 'stale');
  assert.deepStrictEqual(gh.calls, []);
  assert.strictEqual(gh.comments[0].body, newer);
});

test('a plan error replaces the old plan', async () => {
  const gh = github({ head: A, comments: [{ id: 1, user: { type: 'Bot' }, body: `${MARKER}\n**Plan: 3 to create**` }] });
  const failed = { configDir: 'program', validated: 'ok', planned: 'failed', planError: 'error: cannot reach the engine: connection refused', exitCode: '1' };
  assert.strictEqual(await comment({ github: gh, context: context(A), core }, failed), 'updated');
  const text = gh.comments[0].body;
  assert.ok(text.includes('partnerops plan failed'));
  assert.ok(text.includes('connection refused'));
  assert.ok(!text.includes('3 to create'));
});

test('a config that does not validate says so, fenced however many backticks it holds', () => {
  const text = body(
    { configDir: 'program', validated: 'failed', validateText: 'program/t.yaml:1:1: bad ``` fence' },
    { head: A, base: null, prUrl: 'u', runUrl: 'r' },
  );
  assert.ok(text.includes('does not validate'));
  assert.ok(text.includes('````\nprogram/t.yaml:1:1: bad ``` fence\n````'));
});
