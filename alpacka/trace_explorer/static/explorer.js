// The trace explorer's page: lists the run's traces, steps through one
// episode's real steps and shows each step's search tree, expandable node by
// node. The trace format is described in alpacka/agents/search_trace.py.
'use strict';

const view = { traces: [], trace: null, step: 0, selected: null };
const byId = (id) => document.getElementById(id);

// A number for display: null (a non-finite float in the trace) as a dash.
function fmt(value) {
  if (value === null || value === undefined) return '\u2014';
  if (typeof value !== 'number') return String(value);
  if (Number.isInteger(value)) return String(value);
  return Math.abs(value) >= 1e4 ? value.toExponential(3) : String(Number(value.toPrecision(4)));
}

function showMessage(text) {
  const message = byId('message');
  message.textContent = text;
  message.hidden = !text;
}

function setImage(element, path) {
  if (path) {
    element.src = '/' + path;
    element.dataset.path = path;
    element.hidden = false;
  } else {
    element.removeAttribute('src');
    element.dataset.path = '';
    element.hidden = true;
  }
}

function traceLabel(item) {
  const epoch = item.epoch === null ? '-' : item.epoch;
  return `${item.mode} epoch ${epoch} env ${item.env_index} episode ${item.episode_index}`;
}

async function fetchJson(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

async function loadList() {
  view.traces = await fetchJson('/api/traces');
  const select = byId('episode');
  select.replaceChildren(...view.traces.map((item) => {
    const option = document.createElement('option');
    option.value = item.name;
    option.textContent = traceLabel(item);
    return option;
  }));
  if (view.traces.length) {
    await loadTrace(view.traces[0].name);
  } else {
    showMessage('This run has no search traces.');
  }
}

async function loadTrace(name) {
  try {
    view.trace = await fetchJson('/api/traces/' + encodeURIComponent(name));
  } catch (error) {
    showMessage(`Cannot load ${name}: ${error.message}`);
    return;
  }
  showMessage('');
  view.step = 0;
  byId('episode').value = name;
  const trace = view.trace;
  byId('episode-summary').textContent =
    `${trace.agent} on ${trace.env}: ${trace.length} steps, return ${fmt(trace.return)}`;
  document.body.dataset.trace = name;
  renderStep();
}

function goTo(step) {
  if (!view.trace) return;
  const last = view.trace.steps.length - 1;
  view.step = Math.max(0, Math.min(last, step));
  renderStep();
}

function currentStep() { return view.trace.steps[view.step]; }

function renderStep() {
  const trace = view.trace;
  const step = currentStep();
  byId('step-label').textContent = `Step ${view.step + 1} / ${trace.steps.length}`;
  byId('step-label').dataset.step = String(view.step);
  byId('prev').disabled = view.step === 0;
  byId('next').disabled = view.step === trace.steps.length - 1;
  setImage(byId('state-image'), step.image);
  const last = view.step === trace.steps.length - 1;
  setImage(byId('final-image'), last ? trace.final_image : null);
  byId('final-caption').hidden = !(last && trace.final_image);
  byId('chosen-action').textContent = fmt(step.action);
  byId('step-reward').textContent = fmt(step.reward) + (step.done ? ' (episode ends)' : '');
  byId('root-value').textContent = fmt(step.root_value);
  byId('node-total').textContent =
    `${step.nodes.length} recorded of ${step.n_graph_nodes} in the graph`;
  renderRootTable(step);
  const tree = byId('tree');
  tree.replaceChildren(nodeItem(step, 0, null));
  expand(tree.firstChild);
  select(0);
}

function renderRootTable(step) {
  const root = step.nodes[0];
  const info = step.agent_info || {};
  const histogram = info.action_histogram || [];
  const qualities = info.qualities || [];
  const rows = root.children.map((edge, index) => {
    const child = edge.node === null ? null : step.nodes[edge.node];
    const share = histogram[index];
    const row = document.createElement('tr');
    row.dataset.action = String(edge.action);
    if (edge.action === step.action) row.className = 'chosen';
    const cells = [
      fmt(edge.action) + (edge.action === step.action ? ' \u2714' : ''),
      // An action that leaves the state as it is leads back to the root.
      edge.node === 0 ? 'loop' : (child ? fmt(child.count) : '\u2014'),
      null,
      fmt(qualities[index] === undefined ? null : qualities[index]),
      fmt(edge.prior),
    ];
    cells.forEach((text, column) => {
      const cell = document.createElement('td');
      if (column === 2) {
        const bar = document.createElement('span');
        bar.className = 'bar';
        bar.style.width = `${Math.round(60 * (share || 0))}px`;
        cell.append(bar, ' ' + fmt(share === undefined ? null : share));
      } else {
        cell.textContent = text;
      }
      row.append(cell);
    });
    return row;
  });
  byId('root-table').tBodies[0].replaceChildren(...rows);
}

// The <li> of a node reached through edge (null: the root).
function nodeItem(step, nodeId, edge) {
  const node = step.nodes[nodeId];
  const item = document.createElement('li');
  item.dataset.nodeId = String(nodeId);
  const toggle = document.createElement('span');
  toggle.className = 'toggle';
  toggle.textContent = node.expanded ? '\u25b8' : '';
  const label = document.createElement('span');
  label.className = 'node-label' + (node.terminal ? ' terminal' : '');
  label.dataset.nodeId = String(nodeId);
  label.dataset.count = String(node.count);
  label.dataset.value = String(node.value);
  const parts = [];
  parts.push(edge === null ? 'root' : `a=${fmt(edge.action)}`);
  parts.push(`N=${fmt(node.count)}`, `V=${fmt(node.value)}`);
  if (edge !== null) parts.push(`P=${fmt(edge.prior)}`, `r=${fmt(edge.reward)}`);
  if (node.terminal) parts.push('terminal');
  label.textContent = parts.join(' ');
  label.addEventListener('click', () => {
    select(nodeId);
    if (item.classList.contains('open')) collapse(item); else expand(item);
  });
  item.append(toggle, label);
  return item;
}

function expand(item) {
  const step = currentStep();
  const nodeId = Number(item.dataset.nodeId);
  const node = step.nodes[nodeId];
  if (!node.expanded || item.classList.contains('open')) return;
  const list = document.createElement('ul');
  for (const edge of node.children) {
    if (edge.node !== null && step.nodes[edge.node].parent === nodeId) {
      list.append(nodeItem(step, edge.node, edge));
      continue;
    }
    // Not a tree edge of this trace: left out, or a node reached before.
    const note = document.createElement('li');
    note.className = 'edge-note';
    note.textContent = edge.node === null
      ? `a=${fmt(edge.action)} not recorded (max_nodes)`
      : `a=${fmt(edge.action)} \u21aa node #${edge.node} (a transposition or a loop)`;
    if (edge.node !== null) note.addEventListener('click', () => select(edge.node));
    list.append(note);
  }
  item.append(list);
  item.classList.add('open');
  item.firstChild.textContent = '\u25be';
}

function collapse(item) {
  item.querySelector('ul').remove();
  item.classList.remove('open');
  item.firstChild.textContent = '\u25b8';
}

function select(nodeId) {
  const step = currentStep();
  const node = step.nodes[nodeId];
  view.selected = nodeId;
  for (const label of document.querySelectorAll('.node-label.selected')) {
    label.classList.remove('selected');
  }
  const label = document.querySelector(`.node-label[data-node-id="${nodeId}"]`);
  if (label) label.classList.add('selected');
  setImage(byId('node-image'), node.image);
  const quality = node.parent === null || node.value === null || node.reward === null
    ? null : node.reward + view.trace.discount * node.value;
  byId('node-details').dataset.nodeId = String(nodeId);
  byId('node-details').textContent = [
    `node #${nodeId}` + (node.parent === null ? ' (root)' : ` (child of #${node.parent})`),
    `action  ${fmt(node.action)}`,
    `N       ${fmt(node.count)}`,
    `V       ${fmt(node.value)}`,
    `Q       ${fmt(quality)}`,
    `prior   ${fmt(node.prior)}`,
    `reward  ${fmt(node.reward)}`,
    `terminal ${node.terminal}, expanded ${node.expanded}`,
  ].join('\n');
}

byId('prev').addEventListener('click', () => goTo(view.step - 1));
byId('next').addEventListener('click', () => goTo(view.step + 1));
byId('episode').addEventListener('change', (event) => {
  event.target.blur();  // The arrow keys step again, not choose episodes.
  loadTrace(event.target.value);
});
document.addEventListener('keydown', (event) => {
  if (event.target.tagName === 'SELECT') return;
  if (event.key === 'ArrowLeft') { goTo(view.step - 1); event.preventDefault(); }
  if (event.key === 'ArrowRight') { goTo(view.step + 1); event.preventDefault(); }
});
loadList().catch((error) => showMessage(`Cannot list the traces: ${error.message}`));
