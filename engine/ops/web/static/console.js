// Passerelle console: the only script of the pages. Actions are POSTed with fetch and the region
// they change is fetched again; long values, further segments and previews load on demand so a
// 5 MB message never reaches the page whole. No framework: pages are rendered by the server.
'use strict';

(function () {
  function qs(sel, root) {
    return (root || document).querySelector(sel);
  }

  function text(el, s) {
    el.textContent = s;
    return el;
  }

  function flash(msg, bad) {
    var box = qs('#flash');
    if (!box) {
      box = document.createElement('div');
      box.id = 'flash';
      box.setAttribute('role', 'status');
      document.body.appendChild(box);
    }
    box.className = bad ? 'flash bad' : 'flash';
    text(box, msg);
    clearTimeout(flash.timer);
    flash.timer = setTimeout(function () { box.className = 'flash hidden'; }, bad ? 12000 : 5000);
  }

  function withFragment(url) {
    return url + (url.indexOf('?') >= 0 ? '&' : '?') + 'fragment=1';
  }

  // The server's answer for a failed call: {code, message} (the PSL_ code of the failure).
  function failure(res) {
    return res.text().then(function (body) {
      try {
        var e = JSON.parse(body);
        return (e.code ? e.code + ': ' : '') + (e.message || res.statusText);
      } catch (_) {
        return res.status + ' ' + res.statusText;
      }
    });
  }

  // Replaces a region (an element with an id and data-refresh-url) by its new rendering.
  function refresh(region) {
    var url = region.getAttribute('data-refresh-url') || location.pathname + location.search;
    return fetch(withFragment(url), { credentials: 'same-origin', headers: { accept: 'text/html' } }).then(function (res) {
      if (!res.ok) return;
      return res.text().then(function (html) {
        var tpl = document.createElement('template');
        tpl.innerHTML = html;
        var fresh = tpl.content.getElementById(region.id) || tpl.content.firstElementChild;
        if (fresh && region.parentNode) {
          region.parentNode.replaceChild(fresh, region);
          schedule(fresh);
        }
      });
    });
  }

  // Regions that move on their own (a message being delivered, the overview) poll while they say so.
  function schedule(region) {
    var every = Number(region.getAttribute('data-refresh-every'));
    if (!every) return;
    setTimeout(function () {
      if (document.body.contains(region)) refresh(region);
    }, every * 1000);
  }

  // A generated password or a new token is shown once: it stays on screen until dismissed.
  function reveal(r) {
    var secret = r.password || r.token;
    if (!secret) return false;
    var box = document.createElement('div');
    box.className = 'flash secret';
    box.setAttribute('role', 'alert');
    text(box, (r.password ? 'Password (shown once): ' : 'Token (shown once): ') + secret + '  ');
    var close = document.createElement('button');
    close.type = 'button';
    text(close, 'I have copied it');
    close.addEventListener('click', function () { box.parentNode.removeChild(box); });
    box.appendChild(close);
    document.body.appendChild(box);
    return true;
  }

  function post(url, body, refreshSel, done) {
    return fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
    })
      .then(function (res) {
        if (!res.ok) return failure(res).then(function (m) { flash(m, true); });
        return res.json().then(function (r) {
          if (!reveal(r)) flash(r.detail || r.outcome || 'done', false);
          var region = refreshSel && qs(refreshSel);
          if (region) return refresh(region);
        });
      })
      .catch(function (e) { flash(String(e), true); })
      .then(done);
  }

  function act(btn) {
    var confirmText = btn.getAttribute('data-confirm');
    if (confirmText && !window.confirm(confirmText)) return;
    var body = btn.getAttribute('data-body') ? JSON.parse(btn.getAttribute('data-body')) : {};
    var ask = btn.getAttribute('data-reason');
    if (ask) {
      var reason = window.prompt(ask);
      if (!reason) return;
      body.reason = reason;
    }
    var askNote = btn.getAttribute('data-note');
    if (askNote) {
      var note = window.prompt(askNote, '');
      if (note === null) return;
      if (note) body.note = note;
    }
    btn.disabled = true;
    post(btn.getAttribute('data-action'), body, btn.getAttribute('data-refresh'), function () { btn.disabled = false; });
  }

  // A long value, 64 KB at a time, into a <pre> under its row.
  function loadField(btn) {
    var id = btn.getAttribute('data-message');
    var path = btn.getAttribute('data-load-field');
    var offset = Number(btn.getAttribute('data-offset') || 0);
    var pre = btn.parentNode.querySelector('pre.long');
    if (!pre) {
      pre = document.createElement('pre');
      pre.className = 'long';
      btn.parentNode.appendChild(pre);
    }
    btn.disabled = true;
    fetch('/api/messages/' + encodeURIComponent(id) + '/field?path=' + encodeURIComponent(path) + '&offset=' + offset, { credentials: 'same-origin' })
      .then(function (res) {
        if (!res.ok) return failure(res).then(function (m) { flash(m, true); });
        return res.json().then(function (v) {
          pre.appendChild(document.createTextNode(v.value));
          var next = v.offset + v.value.length;
          btn.setAttribute('data-offset', String(next));
          text(btn, next < v.length ? 'load more (' + next + ' / ' + v.length + ')' : 'loaded');
          btn.disabled = next >= v.length;
        });
      })
      .catch(function (e) { flash(String(e), true); btn.disabled = false; });
  }

  function moreSegments(btn) {
    btn.disabled = true;
    fetch(withFragment(btn.getAttribute('data-more-segments')), { credentials: 'same-origin' })
      .then(function (res) {
        if (!res.ok) return failure(res).then(function (m) { flash(m, true); btn.disabled = false; });
        return res.text().then(function (html) {
          var tpl = document.createElement('template');
          tpl.innerHTML = html;
          qs('#segments').appendChild(tpl.content);
          btn.parentNode.removeChild(btn);
          // The fragment ends with the next "more" button, if any: move it after the list.
          var again = qs('#segments > button.more');
          if (again) qs('#segments').parentNode.insertBefore(again, qs('#segments').nextSibling);
        });
      });
  }

  // The first segments of a listed message, as one line each.
  function preview(btn) {
    var row = btn.closest('tr').nextElementSibling;
    if (!row.hidden) { row.hidden = true; return; }
    var cell = row.firstElementChild;
    fetch('/api/messages/' + encodeURIComponent(btn.getAttribute('data-preview')) + '/segments?from=0', { credentials: 'same-origin' })
      .then(function (res) {
        if (!res.ok) return failure(res).then(function (m) { text(cell, m); row.hidden = false; });
        return res.json().then(function (p) {
          var pre = document.createElement('pre');
          pre.className = 'preview';
          text(pre, p.segments.slice(0, 12).map(function (s) { return s.summary; }).join('\n') + (p.count > 12 ? '\n… ' + p.count + ' segments' : ''));
          cell.replaceChildren(pre);
          row.hidden = false;
        });
      });
  }

  document.addEventListener('click', function (ev) {
    var t = ev.target.closest('button');
    if (!t) return;
    if (t.hasAttribute('data-action')) act(t);
    else if (t.hasAttribute('data-load-field')) loadField(t);
    else if (t.hasAttribute('data-more-segments')) moreSegments(t);
    else if (t.hasAttribute('data-preview')) preview(t);
  });

  // Admin forms (new user, new token) go to the JSON API like the buttons.
  document.addEventListener('submit', function (ev) {
    var form = ev.target;
    if (!form.hasAttribute('data-post-form')) return;
    ev.preventDefault();
    var body = {};
    new FormData(form).forEach(function (v, k) { if (v !== '') body[k] = v; });
    post(form.getAttribute('data-post-form'), body, form.getAttribute('data-refresh'));
  });

  document.querySelectorAll('[data-refresh-every]').forEach(schedule);
})();
