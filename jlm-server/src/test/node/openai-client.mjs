// Drives a running jlm server with the official `openai` package. Prints one JSON object with what it got.
// Usage: node openai-client.mjs BASE_URL API_KEY
import OpenAI from "openai";

const [baseURL, apiKey] = process.argv.slice(2);
const client = new OpenAI({ baseURL: baseURL + "/v1", apiKey: apiKey || "none", maxRetries: 0 });
const out = {};

const models = await client.models.list();
out.models = models.data.map(m => m.id);

const messages = [{ role: "user", content: "Tell me a story." }];
const chat = await client.chat.completions.create({ model: out.models[0], messages, max_tokens: 24, temperature: 0 });
out.chat = chat.choices[0].message.content;
out.chatFinish = chat.choices[0].finish_reason;
out.chatUsage = chat.usage;

let streamed = "";
let chunks = 0;
const stream = await client.chat.completions.create({ model: out.models[0], messages, max_tokens: 24, temperature: 0, stream: true });
for await (const chunk of stream) {
  chunks++;
  streamed += chunk.choices[0]?.delta?.content ?? "";
}
out.chatStream = streamed;
out.chatChunks = chunks;

const completion = await client.completions.create({ model: out.models[0], prompt: "Once upon a time", max_tokens: 24, temperature: 0 });
out.completion = completion.choices[0].text;

let streamedText = "";
const cstream = await client.completions.create({ model: out.models[0], prompt: "Once upon a time", max_tokens: 24, temperature: 0, stream: true });
for await (const chunk of cstream) streamedText += chunk.choices[0]?.text ?? "";
out.completionStream = streamedText;

try {
  await client.chat.completions.create({ model: out.models[0], messages: [], max_tokens: 4 });
  out.badRequest = "no error";
} catch (e) {
  out.badRequest = { status: e.status, type: e.error?.type ?? e.type, message: e.message };
}
console.log(JSON.stringify(out));
