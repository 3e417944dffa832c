// Opens the jlm chat page in headless Chromium, sends a message and waits for the streamed answer.
// Usage: node web-page.mjs BASE_URL SCREENSHOT_PATH
import { chromium } from "playwright-core";

const [base, shot] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage();
  await page.goto(base + "/");
  await page.waitForFunction(() => document.getElementById("model").textContent.includes("stories"), null, { timeout: 10000 });
  await page.fill("#system", "You are a storyteller.");
  await page.fill("#max_tokens", "40");
  await page.fill("#input", "Tell me about a dog.");
  await page.click("#send");
  await page.waitForSelector(".assistant[data-done=true]", { timeout: 30000 });
  const answer = await page.textContent(".assistant");
  const stats = await page.textContent("#stats");
  await page.screenshot({ path: shot, fullPage: true });
  console.log(JSON.stringify({ answer, stats }));
} finally {
  await browser.close();
}
