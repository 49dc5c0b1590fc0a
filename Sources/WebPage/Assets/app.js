// The Lookalike page: search by image, browse a collection, clean up near-duplicates. Everything it shows comes
// from the API (/v1/...); with API keys on, every request carries the key, thumbnails included (fetched as blobs,
// since an <img> cannot send a header).
'use strict';

const state = {
  key: sessionStorage.getItem('lookalike.key') || '',
  collection: localStorage.getItem('lookalike.collection') || 'default',
  view: 'search',
  thumbnails: new Map(), // collection/id -> blob URL
};

const $ = (selector) => document.querySelector(selector);

// ---------------------------------------------------------------- requests

class Problem extends Error {
  constructor(status, title, detail) {
    super(detail ? `${title}: ${detail}` : title);
    this.status = status;
    this.title = title;
    this.detail = detail;
  }
}

// One request through XMLHttpRequest (not fetch) so that uploads can report progress.
function request(method, path, { body, contentType, responseType = 'json', onProgress } = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, path);
    xhr.responseType = responseType === 'blob' ? 'blob' : 'text';
    if (state.key) xhr.setRequestHeader('Authorization', `Bearer ${state.key}`);
    if (contentType) xhr.setRequestHeader('Content-Type', contentType);
    if (onProgress) xhr.upload.onprogress = (event) => { if (event.lengthComputable) onProgress(event.loaded / event.total); };
    xhr.onerror = () => reject(new Problem(0, 'Network error', `${method} ${path} did not reach the server`));
    xhr.onload = async () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        if (responseType === 'blob') resolve(xhr.response);
        else resolve(xhr.response ? JSON.parse(xhr.response) : null);
        return;
      }
      let text = xhr.response;
      if (responseType === 'blob') text = await xhr.response.text();
      let title = `${xhr.status} ${xhr.statusText}`.trim();
      let detail = '';
      try {
        const problem = JSON.parse(text);
        title = problem.title || title;
        detail = problem.detail || '';
      } catch (_) {
        detail = (text || '').slice(0, 300);
      }
      if (xhr.status === 401) openKeyDialog();
      reject(new Problem(xhr.status, title, detail));
    };
    xhr.send(body === undefined ? null : body);
  });
}

const enc = encodeURIComponent;
const collectionPath = (path) => `/v1/collections/${enc(state.collection)}${path}`;

function query(parameters) {
  const parts = Object.entries(parameters)
    .filter(([, value]) => value !== undefined && value !== null && value !== '')
    .map(([name, value]) => `${enc(name)}=${enc(value)}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

// A filter box's value, checked as JSON here so a typo is named before a request is sent.
function filterValue(input) {
  const text = input.value.trim();
  if (!text) return undefined;
  try {
    JSON.parse(text);
  } catch (error) {
    throw new Problem(400, 'The filter is not JSON', error.message);
  }
  return text;
}

// Cursor pagination over a view: the cursor of every page visited is kept, so Previous needs nothing from the server.
class Pager {
  constructor(prefix, load) {
    this.prefix = prefix;
    this.load = load;
    this.cursors = [undefined];
    this.nextCursor = undefined;
  }

  get cursor() { return this.cursors[this.cursors.length - 1]; }
  get page() { return this.cursors.length; }

  first() {
    this.cursors = [undefined];
    this.load();
  }

  wire() {
    $(`#${this.prefix}-first`).addEventListener('click', () => this.first());
    $(`#${this.prefix}-previous`).addEventListener('click', () => {
      if (this.cursors.length > 1) this.cursors.pop();
      this.load();
    });
    $(`#${this.prefix}-next`).addEventListener('click', () => {
      if (!this.nextCursor) return;
      this.cursors.push(this.nextCursor);
      this.load();
    });
  }

  // After a page has loaded (next: its 'next' cursor, if any).
  update(next) {
    this.nextCursor = next;
    $(`#${this.prefix}-next`).disabled = !next;
    $(`#${this.prefix}-previous`).disabled = this.cursors.length <= 1;
    $(`#${this.prefix}-first`).disabled = this.cursors.length <= 1;
  }
}

// Each view shows the answer to its latest request only: a slow answer to an earlier one is dropped.
const generations = new Map();
function beginRequest(view) {
  const generation = (generations.get(view) || 0) + 1;
  generations.set(view, generation);
  return () => generations.get(view) === generation;
}

// ---------------------------------------------------------------- problems and dialogs

function showProblem(error) {
  const box = $('#problem');
  if (error instanceof Problem) {
    box.querySelector('.problem-title').textContent = error.title;
    box.querySelector('.problem-detail').textContent = error.detail || '';
  } else {
    box.querySelector('.problem-title').textContent = 'Error';
    box.querySelector('.problem-detail').textContent = String(error && error.message ? error.message : error);
  }
  box.hidden = false;
}

function clearProblem() { $('#problem').hidden = true; }

function openKeyDialog() {
  const dialog = $('#key-dialog');
  if (dialog.open) return;
  $('#key-input').value = '';
  dialog.showModal();
}

function confirmAction(message, confirmLabel = 'Delete') {
  const dialog = $('#confirm-dialog');
  $('#confirm-message').textContent = message;
  $('#confirm-ok').textContent = confirmLabel;
  dialog.returnValue = 'cancel';
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'confirm'), { once: true });
  });
}

// ---------------------------------------------------------------- thumbnails

const thumbnailQueue = [];
let thumbnailsInFlight = 0;
const maxThumbnailsInFlight = 6;
const maxCachedThumbnails = 2000;

function loadThumbnail(img, id) {
  const cacheKey = `${state.collection}/${id}`;
  const cached = state.thumbnails.get(cacheKey);
  if (cached) {
    img.src = cached;
    return;
  }
  thumbnailQueue.push({ img, id, cacheKey, collection: state.collection });
  // After the tiles are in the document: jobs for images that never made it there are dropped.
  setTimeout(pumpThumbnails, 0);
}

function pumpThumbnails() {
  while (thumbnailsInFlight < maxThumbnailsInFlight && thumbnailQueue.length) {
    const job = thumbnailQueue.shift();
    if (!job.img.isConnected || job.collection !== state.collection) continue;
    thumbnailsInFlight += 1;
    request('GET', collectionPath(`/images/${enc(job.id)}/thumbnail`), { responseType: 'blob' })
      .then((blob) => {
        const url = URL.createObjectURL(blob);
        if (state.thumbnails.size >= maxCachedThumbnails) {
          const [oldestKey, oldestURL] = state.thumbnails.entries().next().value;
          state.thumbnails.delete(oldestKey);
          URL.revokeObjectURL(oldestURL);
        }
        state.thumbnails.set(job.cacheKey, url);
        job.img.src = url;
      })
      .catch((error) => {
        job.img.classList.add('missing');
        if (error.status !== 404) showProblem(error);
      })
      .finally(() => {
        thumbnailsInFlight -= 1;
        pumpThumbnails();
      });
  }
}

function forgetThumbnails() {
  for (const url of state.thumbnails.values()) URL.revokeObjectURL(url);
  state.thumbnails.clear();
  thumbnailQueue.length = 0;
}

// ---------------------------------------------------------------- tiles

// A tile: the thumbnail, the id and (for results) the score; activating it opens the image's page.
function tile(id, { score, caption, extra } = {}) {
  const item = document.createElement('li');
  item.className = 'tile';
  item.dataset.id = id;
  if (score !== undefined) item.dataset.score = String(score);
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'open';
  button.title = `Open ${id}`;
  const img = document.createElement('img');
  img.alt = id;
  img.loading = 'lazy';
  img.width = 160;
  img.height = 160;
  button.append(img);
  const label = document.createElement('span');
  label.className = 'id';
  label.textContent = id;
  button.append(label);
  if (score !== undefined) {
    const value = document.createElement('span');
    value.className = 'score';
    value.textContent = score.toFixed(3);
    button.append(value);
  }
  if (caption) {
    const text = document.createElement('span');
    text.className = 'caption';
    text.textContent = caption;
    button.append(text);
  }
  button.addEventListener('click', () => { location.hash = `#image/${enc(id)}`; });
  item.append(button);
  if (extra) item.append(extra);
  loadThumbnail(img, id);
  return item;
}

function fill(list, tiles) {
  list.replaceChildren(...tiles);
}

// ---------------------------------------------------------------- collections

async function loadCollections() {
  const select = $('#collection');
  const body = await request('GET', '/v1/collections');
  const names = body.collections.map((collection) => collection.name);
  if (!names.includes(state.collection)) state.collection = names.includes('default') ? 'default' : names[0] || 'default';
  select.replaceChildren(...body.collections.map((collection) => {
    const option = document.createElement('option');
    option.value = collection.name;
    option.textContent = `${collection.name} (${collection.images})`;
    return option;
  }));
  select.value = state.collection;
  showRecipe(body.collections.find((collection) => collection.name === state.collection));
}

// How the collection's images become vectors, and a re-embedding's progress (followed until it ends).
function describeRecipe(recipe) {
  const parts = [`${recipe.crop} crop`];
  if (recipe.trim_borders) parts.push('borders trimmed');
  if (recipe.mirror_average) parts.push('mirror average');
  if (recipe.feature_power !== 1) parts.push(`power ${recipe.feature_power}`);
  return parts.join(', ');
}

let recipeTimer = null;

function showRecipe(collection) {
  clearTimeout(recipeTimer);
  const status = $('#recipe-status');
  if (!collection || !collection.recipe) {
    status.textContent = '';
    return;
  }
  const change = collection.recipe_change;
  if (change && ['running', 'switching', 'elsewhere'].includes(change.state)) {
    const rate = change.images_per_second ? ` (${change.images_per_second}/s)` : '';
    status.textContent = `Re-embedding to ${describeRecipe(change.target)}: ${change.done} of ${change.total}${rate}`;
    recipeTimer = setTimeout(refreshRecipe, 1000);
  } else if (change && change.state === 'failed') {
    status.textContent = `Recipe: ${describeRecipe(collection.recipe)} (re-embedding failed: ${change.error})`;
  } else {
    status.textContent = `Recipe: ${describeRecipe(collection.recipe)}`;
  }
}

async function refreshRecipe() {
  const name = state.collection;
  try {
    const collection = await request('GET', `/v1/collections/${enc(name)}`);
    if (name === state.collection) showRecipe(collection);
  } catch (problem) {
    // Shown again at the next load of the collections.
  }
}

function switchCollection(name) {
  state.collection = name;
  localStorage.setItem('lookalike.collection', name);
  refreshRecipe();
  forgetThumbnails();
  browsePager.cursors = [undefined];
  duplicatesPager.cursors = [undefined];
  fill($('#search-results'), []);
  $('#search-status').textContent = '';
  render();
}

// ---------------------------------------------------------------- search

let lastQueryFile = null;

async function search(file) {
  if (!file) return;
  clearProblem();
  lastQueryFile = file;
  const preview = $('#query-preview');
  if (preview.src.startsWith('blob:')) URL.revokeObjectURL(preview.src);
  preview.src = URL.createObjectURL(file);
  preview.hidden = false;
  const status = $('#search-status');
  const isCurrent = beginRequest('search');
  try {
    const parameters = {
      k: $('#search-k').value, min_score: $('#search-min-score').value, filter: filterValue($('#search-filter')),
    };
    status.textContent = `Searching with ${file.name || 'the pasted image'}…`;
    const body = await request('POST', collectionPath(`/search${query(parameters)}`), {
      body: file, contentType: file.type || 'application/octet-stream',
      onProgress: (fraction) => { if (fraction < 1) status.textContent = `Sending the image… ${Math.round(fraction * 100)} %`; },
    });
    if (!isCurrent()) return;
    fill($('#search-results'), body.results.map((match) => tile(match.id, { score: match.score })));
    status.textContent = body.results.length
      ? `${body.results.length} results in ${body.took_ms.toFixed(1)} ms`
      : 'No stored image scores above the minimum.';
  } catch (error) {
    if (!isCurrent()) return;
    status.textContent = '';
    showProblem(error);
  }
}

function setUpSearch() {
  const input = $('#query-input');
  input.addEventListener('change', () => {
    const file = input.files[0];
    // Emptied, so that choosing the same file again searches again.
    input.value = '';
    search(file);
  });
  const zone = $('#drop-zone');
  zone.addEventListener('dragover', (event) => { event.preventDefault(); zone.classList.add('dragging'); });
  zone.addEventListener('dragleave', () => zone.classList.remove('dragging'));
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    zone.classList.remove('dragging');
    const file = event.dataTransfer.files[0];
    if (file) search(file);
  });
  document.addEventListener('paste', (event) => {
    if (state.view !== 'search') return;
    const file = [...(event.clipboardData ? event.clipboardData.files : [])].find((item) => item.type.startsWith('image/'));
    if (file) {
      event.preventDefault();
      search(file);
    }
  });
  $('#search-form').addEventListener('submit', (event) => { event.preventDefault(); search(lastQueryFile); });
  for (const selector of ['#search-k', '#search-min-score', '#search-filter']) {
    $(selector).addEventListener('change', () => search(lastQueryFile));
  }
}

// ---------------------------------------------------------------- one image and its neighbours

async function showImage(id) {
  clearProblem();
  $('#image-title').textContent = id;
  $('#image-fields').replaceChildren();
  $('#image-metadata').textContent = '';
  $('#image-thumbnail').removeAttribute('src');
  $('#image-thumbnail').alt = id;
  fill($('#similar-results'), []);
  $('#similar-status').textContent = 'Loading…';
  const isCurrent = beginRequest('image');
  try {
    const record = await request('GET', collectionPath(`/images/${enc(id)}`));
    if (!isCurrent()) return;
    const fields = [
      ['Format', record.format], ['Size', `${record.width} × ${record.height} pixels`],
      ['Bytes', record.bytes.toLocaleString()], ['Stored', record.created_at], ['Updated', record.updated_at],
      ['SHA-256', record.sha256],
    ];
    $('#image-fields').replaceChildren(...fields.flatMap(([name, value]) => {
      const term = document.createElement('dt');
      term.textContent = name;
      const description = document.createElement('dd');
      description.textContent = value;
      return [term, description];
    }));
    $('#image-metadata').textContent = JSON.stringify(record.metadata, null, 2);
    loadThumbnail($('#image-thumbnail'), id);
    const parameters = { k: $('#search-k').value, min_score: $('#search-min-score').value, filter: filterValue($('#search-filter')) };
    const body = await request('GET', collectionPath(`/images/${enc(id)}/similar${query(parameters)}`));
    if (!isCurrent()) return;
    fill($('#similar-results'), body.results.map((match) => tile(match.id, { score: match.score })));
    const count = body.results.length;
    $('#similar-status').textContent = count ? `${count} similar ${count === 1 ? 'image' : 'images'}` : 'No similar images.';
  } catch (error) {
    if (!isCurrent()) return;
    $('#similar-status').textContent = '';
    showProblem(error);
  }
}

async function deleteImages(ids) {
  for (const id of ids) {
    await request('DELETE', collectionPath(`/images/${enc(id)}`));
    const url = state.thumbnails.get(`${state.collection}/${id}`);
    if (url) {
      URL.revokeObjectURL(url);
      state.thumbnails.delete(`${state.collection}/${id}`);
    }
  }
}

function setUpImage() {
  $('#image-back').addEventListener('click', () => history.back());
  $('#image-delete').addEventListener('click', async () => {
    const id = $('#image-title').textContent;
    if (!(await confirmAction(`Delete ${id} from ${state.collection}? This cannot be undone.`))) return;
    try {
      await deleteImages([id]);
      location.hash = '#browse';
    } catch (error) {
      showProblem(error);
    }
  });
}

// ---------------------------------------------------------------- browse and upload

async function browse() {
  clearProblem();
  const status = $('#browse-status');
  const isCurrent = beginRequest('browse');
  let next;
  try {
    const parameters = { limit: $('#browse-limit').value, after: browsePager.cursor, filter: filterValue($('#browse-filter')) };
    status.textContent = 'Loading…';
    const body = await request('GET', collectionPath(`/images${query(parameters)}`));
    if (!isCurrent()) return;
    fill($('#browse-results'), body.images.map((record) => tile(record.id, {
      caption: `${record.width} × ${record.height} ${record.format}`, extra: deleteButton(record.id),
    })));
    next = body.next;
    const page = browsePager.page;
    const count = body.images.length;
    status.textContent = count ? `Page ${page}: ${count} ${count === 1 ? 'image' : 'images'}`
      : (page > 1 ? 'No more images.' : 'No images yet: upload some.');
  } catch (error) {
    if (!isCurrent()) return;
    status.textContent = '';
    showProblem(error);
  }
  browsePager.update(next);
}

function deleteButton(id) {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'delete danger';
  button.textContent = 'Delete';
  button.setAttribute('aria-label', `Delete ${id}`);
  button.addEventListener('click', async () => {
    if (!(await confirmAction(`Delete ${id} from ${state.collection}? This cannot be undone.`))) return;
    try {
      await deleteImages([id]);
      browse();
    } catch (error) {
      showProblem(error);
    }
  });
  return button;
}

// Uploads run two at a time (the server embeds each on a worker); each file has its own line with progress.
async function upload(files) {
  clearProblem();
  const list = $('#upload-list');
  const jobs = [...files].map((file) => {
    const line = document.createElement('li');
    line.dataset.file = file.name;
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = file.name;
    const progress = document.createElement('progress');
    progress.max = 1;
    progress.value = 0;
    const outcome = document.createElement('span');
    outcome.className = 'outcome';
    outcome.textContent = 'waiting';
    line.append(name, progress, outcome);
    list.prepend(line);
    return { file, line, progress, outcome };
  });
  const collection = state.collection;
  let next = 0;
  async function worker() {
    while (next < jobs.length) {
      const job = jobs[next++];
      job.outcome.textContent = 'sending';
      try {
        const path = `/v1/collections/${enc(collection)}/images${query({ id: job.file.name })}`;
        const body = await request('POST', path, {
          body: job.file, contentType: job.file.type || 'application/octet-stream',
          onProgress: (fraction) => { job.progress.value = fraction; },
        });
        job.progress.value = 1;
        const duplicates = body.duplicates.map((match) => `${match.id} (${match.score.toFixed(3)})`);
        job.outcome.textContent = `stored as ${body.id}` + (duplicates.length ? `; near-duplicate of ${duplicates.join(', ')}` : '');
        job.line.classList.add('ok');
      } catch (error) {
        job.outcome.textContent = error instanceof Problem ? `${error.title}: ${error.detail}` : String(error);
        job.line.classList.add('failed');
      }
    }
  }
  await Promise.all([worker(), worker()]);
  const lines = [...list.children];
  const failed = lines.filter((line) => line.classList.contains('failed')).length;
  $('#upload-summary span').textContent = `${lines.length - failed} stored, ${failed} failed.`;
  $('#upload-summary').hidden = false;
  if (state.view === 'browse') browse();
  loadCollections().catch(() => {});
}

function setUpBrowse() {
  const input = $('#upload-input');
  input.addEventListener('change', () => {
    if (input.files.length) upload(input.files).finally(() => { input.value = ''; });
  });
  $('#upload-clear').addEventListener('click', () => {
    $('#upload-list').replaceChildren();
    $('#upload-summary').hidden = true;
  });
  $('#browse-form').addEventListener('submit', (event) => { event.preventDefault(); browsePager.first(); });
  $('#browse-limit').addEventListener('change', () => browsePager.first());
  $('#browse-filter').addEventListener('change', () => browsePager.first());
  browsePager.wire();
}

// ---------------------------------------------------------------- near-duplicates

async function duplicates() {
  clearProblem();
  const status = $('#duplicates-status');
  const threshold = Number($('#duplicates-threshold').value);
  const isCurrent = beginRequest('duplicates');
  let next;
  try {
    const parameters = { threshold, limit: 20, after: duplicatesPager.cursor, filter: filterValue($('#duplicates-filter')) };
    status.textContent = 'Looking for near-duplicates…';
    const body = await request('GET', collectionPath(`/duplicates${query(parameters)}`));
    if (!isCurrent()) return;
    $('#duplicate-groups').replaceChildren(...body.groups.map((ids, index) => duplicateGroup(ids, index)));
    next = body.next;
    status.textContent = body.total_groups
      ? `${body.total_groups} ${body.total_groups === 1 ? 'group' : 'groups'} holding ${body.total_images} images at cosine ≥ ${threshold.toFixed(3)}`
      : `No near-duplicates at cosine ≥ ${threshold.toFixed(3)}.`;
  } catch (error) {
    if (!isCurrent()) return;
    status.textContent = '';
    showProblem(error);
  }
  duplicatesPager.update(next);
}

// A group side by side; one image is kept (the first unless another is chosen), the others can be deleted at once.
function duplicateGroup(ids, index) {
  const group = document.createElement('li');
  group.className = 'group';
  group.dataset.ids = ids.join('\n');
  const tiles = document.createElement('ol');
  tiles.className = 'grid';
  const radioName = `keep-${index}`;
  tiles.append(...ids.map((id, position) => {
    const keep = document.createElement('label');
    keep.className = 'keep';
    const radio = document.createElement('input');
    radio.type = 'radio';
    radio.name = radioName;
    radio.value = id;
    radio.checked = position === 0;
    keep.append(radio, ' keep');
    return tile(id, { extra: keep });
  }));
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'danger delete-others';
  button.textContent = `Delete all but the kept one (${ids.length - 1})`;
  button.addEventListener('click', async () => {
    const kept = group.querySelector(`input[name="${radioName}"]:checked`).value;
    const doomed = ids.filter((id) => id !== kept);
    if (!(await confirmAction(`Keep ${kept} and delete ${doomed.join(', ')}? This cannot be undone.`, `Delete ${doomed.length}`))) return;
    try {
      await deleteImages(doomed);
      duplicates();
    } catch (error) {
      showProblem(error);
      duplicates();
    }
  });
  // Different pictures after all (burst shots, variants): remembered, so the group does not come back.
  const apart = document.createElement('button');
  apart.type = 'button';
  apart.className = 'secondary not-duplicates';
  apart.textContent = 'Not duplicates';
  apart.addEventListener('click', async () => {
    try {
      await request('POST', collectionPath('/duplicates/decisions'), {
        body: JSON.stringify({ ids }), contentType: 'application/json',
      });
    } catch (error) {
      showProblem(error);
    }
    duplicates();
  });
  const actions = document.createElement('div');
  actions.className = 'group-actions';
  actions.append(button, apart);
  group.append(tiles, actions);
  return group;
}

function setUpDuplicates() {
  const slider = $('#duplicates-threshold');
  let timer;
  slider.addEventListener('input', () => {
    $('#duplicates-threshold-value').textContent = Number(slider.value).toFixed(3);
    clearTimeout(timer);
    timer = setTimeout(() => duplicatesPager.first(), 250);
  });
  $('#duplicates-form').addEventListener('submit', (event) => { event.preventDefault(); duplicatesPager.first(); });
  $('#duplicates-filter').addEventListener('change', () => duplicatesPager.first());
  duplicatesPager.wire();
}

// ---------------------------------------------------------------- views

const browsePager = new Pager('browse', browse);
const duplicatesPager = new Pager('duplicates', duplicates);

function render() {
  const hash = decodeURIComponent(location.hash.slice(1));
  let view = hash.split('/')[0] || 'search';
  if (!['search', 'browse', 'duplicates', 'image'].includes(view)) view = 'search';
  state.view = view;
  for (const section of document.querySelectorAll('.view')) section.hidden = section.id !== `view-${view}`;
  for (const link of document.querySelectorAll('.tabs a')) {
    if (link.dataset.view === view) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  if (view === 'browse') browse();
  else if (view === 'duplicates') duplicates();
  else if (view === 'image') showImage(hash.slice('image/'.length));
}

async function start() {
  setUpSearch();
  setUpImage();
  setUpBrowse();
  setUpDuplicates();
  $('#problem-close').addEventListener('click', clearProblem);
  $('#collection').addEventListener('change', (event) => switchCollection(event.target.value));
  $('#key-button').addEventListener('click', openKeyDialog);
  $('#key-dialog').addEventListener('close', () => {
    const choice = $('#key-dialog').returnValue;
    if (choice === 'save' && $('#key-input').value) state.key = $('#key-input').value;
    else if (choice === 'forget') state.key = '';
    else return;
    if (state.key) sessionStorage.setItem('lookalike.key', state.key);
    else sessionStorage.removeItem('lookalike.key');
    $('#key-button').textContent = state.key ? 'API key ✓' : 'API key';
    forgetThumbnails();
    clearProblem();
    reload();
  });
  $('#key-button').textContent = state.key ? 'API key ✓' : 'API key';
  window.addEventListener('hashchange', render);
  reload();
}

async function reload() {
  try {
    await loadCollections();
  } catch (error) {
    showProblem(error);
  }
  render();
}

document.addEventListener('DOMContentLoaded', start);
