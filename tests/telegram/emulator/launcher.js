// telegram-test-api 4.2.1 with the fixes python-telegram-bot 22.8 needs (see ../../../../shared/telegram-emulator.md).
// Usage: node launcher.js PORT  — prints "ready <port>" on stdout once listening.
// Our routes go first, so they win over the package's own:
//   getMe            a full User (is_bot, supports_inline_queries)
//   sendMessage      `date` in seconds, a real chat type, the bot as `from`
//   editMessage*     the edited Message instead of null
//   getUpdates       real long polling (waits up to `timeout` s), and 409 Conflict for a poll
//                    that a newer poll with the same token replaces, as Telegram does
//   callback queries keep `chat_instance`
//   stubs            sendChatAction, setMyCommands, answerInlineQuery, ... answer ok and are recorded;
//                    POST /calls {token} returns them so tests can check what the bot asked for
//   POST /sendUpdate {botToken, update}  injects a raw update (inline queries)
//   setWebhook       also keeps `secret_token`, sent as X-Telegram-Bot-Api-Secret-Token on each post
//   webhook mode     every update gets its own update_id (the stock server numbers it only after the
//                    webhook call returns, so updates sent at once all went out with the same id)
//   POST /control {delay_ms, methods}  a slow API: bot-side calls (all, or only `methods`) wait
//                    `delay_ms` before they are handled; the answer reports how many calls are waiting now
//                    and how many bot-side calls (getUpdates aside) the bot abandoned before their answer
'use strict';

const axios = require('axios');

const { routes } = require('telegram-test-api/lib/routes/index');
const { TelegramServer } = require('telegram-test-api/lib/telegramServer');

const port = Number(process.argv[2] || 9000);
const BOT = { id: 666, is_bot: true, first_name: 'Report Bot', username: 'TestNameBot' };
const STUBS = {
  sendChatAction: () => true,
  setMyCommands: () => true,
  deleteMyCommands: () => true,
  setMyDescription: () => true,
  setMyShortDescription: () => true,
  answerInlineQuery: () => true,
  answerCallbackQuery: () => true,
  getMyCommands: () => [],
};
const calls = {}; // token -> [{method, params}]
const webhookSecrets = {}; // webhook url -> secret_token
axios.interceptors.request.use((config) => {
  const secret = webhookSecrets[config.url];
  if (secret) config.headers['X-Telegram-Bot-Api-Secret-Token'] = secret;
  return config;
});
const polls = {}; // token -> response of the pending long poll

// PTB sends form fields; structured ones arrive as JSON strings.
const JSON_FIELDS = new Set(['reply_markup', 'entities', 'commands', 'results', 'reply_parameters', 'link_preview_options', 'scope', 'button']);
function parse(body) {
  const out = { ...(body || {}) };
  for (const k of Object.keys(out)) {
    if (JSON_FIELDS.has(k) && typeof out[k] === 'string') {
      try { out[k] = JSON.parse(out[k]); } catch (e) { /* left as sent */ }
    }
  }
  return out;
}

function asMessage(stored) {
  const m = stored.message;
  const chatId = Number(m.chat_id);
  const markup = m.reply_markup && m.reply_markup.inline_keyboard ? m.reply_markup : undefined;
  return {
    message_id: stored.messageId,
    date: Math.floor(stored.time / 1000),
    from: BOT,
    chat: { id: chatId, type: chatId < 0 ? 'group' : 'private', first_name: 'User' },
    text: m.text,
    reply_markup: markup,
  };
}

const slow = { delayMs: 0, methods: null, waiting: 0, abandoned: 0 }; // the delay knob (POST /control)

function install(app, server) {
  app.post('/control', (req, res) => {
    if (req.body && req.body.delay_ms !== undefined) {
      slow.delayMs = Number(req.body.delay_ms) || 0;
      slow.methods = Array.isArray(req.body.methods) ? new Set(req.body.methods) : null;
    }
    res.sendResult({ ok: true, result: { delay_ms: slow.delayMs, waiting: slow.waiting, abandoned: slow.abandoned } });
  });

  // First of our routes: every bot-side call passes here and may be held back.
  app.all('/bot:token/:method', (req, res, next) => {
    if (req.params.method !== 'getUpdates') {
      res.on('close', () => { if (!res.writableEnded) slow.abandoned += 1; }); // the client hung up first
    }
    if (!slow.delayMs || (slow.methods && !slow.methods.has(req.params.method))) return next();
    slow.waiting += 1;
    setTimeout(() => { slow.waiting -= 1; next(); }, slow.delayMs);
  });

  app.all('/bot:token/getMe', (req, res) => res.sendResult({ ok: true, result: { ...BOT, can_join_groups: true, can_read_all_group_messages: false, supports_inline_queries: true } }));

  app.all('/bot:token/sendMessage', (req, res) => {
    server.addBotMessage(parse(req.body), req.params.token);
    const stored = server.storage.botMessages[server.storage.botMessages.length - 1];
    res.sendResult({ ok: true, result: asMessage(stored) });
  });

  for (const method of ['editMessageText', 'editMessageReplyMarkup']) {
    app.all(`/bot:token/${method}`, (req, res) => {
      const body = parse(req.body);
      server[method](body);
      const stored = server.storage.botMessages.find(
        (u) => String(u.messageId) === String(body.message_id) && String(u.message.chat_id) === String(body.chat_id));
      if (!stored) return res.status(400).json({ ok: false, error_code: 400, description: 'Bad Request: message to edit not found' });
      res.sendResult({ ok: true, result: asMessage(stored) });
    });
  }

  app.all('/bot:token/getUpdates', (req, res) => {
    const token = req.params.token;
    const timeout = Number(parse(req.body).timeout || 0);
    const previous = polls[token];
    if (previous && !previous.writableEnded) {
      previous.status(409).json({ ok: false, error_code: 409, description: 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running' });
    }
    const reply = () => {
      if (res.writableEnded) return;
      cleanup();
      res.sendResult({ ok: true, result: server.getUpdates(token) });
    };
    const pending = () => server.storage.userMessages.some((u) => u.botToken === token && !u.isRead);
    const onUpdate = () => { if (pending()) reply(); };
    const timer = setTimeout(reply, timeout * 1000);
    const cleanup = () => {
      clearTimeout(timer);
      for (const e of ['AddedUserMessage', 'AddedUserCommand', 'AddedUserCallbackQuery']) server.off(e, onUpdate);
      if (polls[token] === res) delete polls[token];
    };
    if (pending() || timeout <= 0) return reply();
    polls[token] = res;
    for (const e of ['AddedUserMessage', 'AddedUserCommand', 'AddedUserCallbackQuery']) server.on(e, onUpdate);
    res.on('close', cleanup); // the response's close: the request's fires as soon as its body is read
  });

  for (const [method, result] of Object.entries(STUBS)) {
    app.all(`/bot:token/${method}`, (req, res) => {
      (calls[req.params.token] ||= []).push({ method, params: parse(req.body) });
      res.sendResult({ ok: true, result: result() });
    });
  }

  app.all('/bot:token/setWebhook', (req, res) => {
    const body = parse(req.body);
    (calls[req.params.token] ||= []).push({ method: 'setWebhook', params: body });
    if (body.url) {
      server.setWebhook({ url: body.url }, req.params.token);
      if (body.secret_token) webhookSecrets[body.url] = body.secret_token;
    } else {
      server.deleteWebhook(req.params.token);
    }
    res.sendResult({ ok: true, result: true });
  });

  app.post('/calls', (req, res) => res.sendResult({ ok: true, result: calls[req.body.token] || [] }));

  app.post('/sendUpdate', (req, res) => {
    server.addUserUpdate({ ...server.getCommonFields(req.body.botToken), raw: req.body.update })
      .then(() => { server.emit('AddedUserMessage'); res.sendResult({ ok: true, result: null }); });
  });
}

// Keep chat_instance (dropped by the stock formatter, which makes PTB reject the whole batch) and
// pass injected raw updates through with their update_id.
const stockFormat = TelegramServer.formatUpdate;
TelegramServer.formatUpdate = (update) => {
  if (update.raw) return { ...update.raw, update_id: update.updateId };
  const out = stockFormat(update);
  if (out.callback_query) {
    out.callback_query.chat_instance = String(update.callbackQuery.chat_instance || update.callbackQuery.message?.chat?.id || '0');
  }
  return out;
};

// In webhook mode the stock server increments updateId only after the webhook call has returned:
// take the id when the update is made instead (addUserUpdate's own increment then skips one).
const stockCommonFields = TelegramServer.prototype.getCommonFields;
TelegramServer.prototype.getCommonFields = function commonFields(botToken) {
  const fields = stockCommonFields.call(this, botToken);
  if (this.webhooks[botToken]) this.updateId += 1;
  return fields;
};

routes.unshift(install);
const server = new TelegramServer({ port, host: '127.0.0.1', storeTimeout: 600 });
server.start().then(() => process.stdout.write(`ready ${port}\n`));
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.stop().then(() => process.exit(0)));
