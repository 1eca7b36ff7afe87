#!/usr/bin/python3
"""A real browser against the chat page of `minimind-v serve` (issue 16's browser check).

Headless Chromium from Debian (chromium, chromium-driver, python3-selenium; run with Debian's
/usr/bin/python3) loads http://127.0.0.1:PORT/, attaches a PNG through the file picker, asks a
question, waits for the streamed answer and its timing line, asks a follow-up, and writes a
screenshot to WORK/serve-page.png. The answer must equal `minimind-v caption` on the same image.
Usage: /usr/bin/python3 Scripts/serve_browser_check.py [--bin .build/release/minimind-v]
"""
import argparse, json, os, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_openai_check import demo_model, start_server  # noqa: E402

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=".build/release/minimind-v")
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "minimind-serve-check"))
    args = ap.parse_args()
    model_dir, image = demo_model(args.bin, args.work)
    question = "Describe the image."
    import subprocess
    ref = subprocess.run([args.bin, "caption", image, "--model", model_dir, "--greedy", "--max-new-tokens", "48",
                          "--prompt", "<image>\n" + question, "--jsonl"], check=True, capture_output=True, text=True)
    expected = json.loads(ref.stdout.splitlines()[0])["text"]

    proc, base = start_server(args.bin, model_dir)
    options = webdriver.ChromeOptions()
    for flag in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1000,800"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)
    try:
        driver.get(base + "/")
        wait = WebDriverWait(driver, 60)
        wait.until(lambda d: d.find_element(By.ID, "model").text not in ("", "connecting…"))
        for field, value in [("temperature", "0"), ("max_tokens", "48")]:
            box = driver.find_element(By.ID, field)
            driver.execute_script("arguments[0].value = arguments[1]", box, value)
        picker = driver.find_element(By.ID, "file")
        driver.execute_script("arguments[0].hidden = false", picker)  # chromedriver types only into shown inputs
        picker.send_keys(os.path.abspath(image))
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#thumbs img"))
        driver.find_element(By.ID, "q").send_keys(question)
        driver.find_element(By.ID, "send").click()
        wait.until(lambda d: "tokens" in d.find_elements(By.CSS_SELECTOR, ".stats")[-1].text)
        answer = driver.find_elements(By.CSS_SELECTOR, ".assistant")[-1].text
        stats = driver.find_elements(By.CSS_SELECTOR, ".stats")[-1].text
        print(f"page answer: {answer!r}\nstats: {stats}")
        assert answer.strip() == expected.strip(), f"page {answer!r} != caption {expected!r}"
        assert "first token" in stats and "tokens/s" in stats
        driver.find_element(By.ID, "q").send_keys("What colour is it?")
        driver.find_element(By.ID, "send").click()
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".stats")) >= 2
                   and "tokens" in d.find_elements(By.CSS_SELECTOR, ".stats")[-1].text)
        shot = os.path.join(args.work, "serve-page.png")
        driver.save_screenshot(shot)
        print(f"follow-up: {driver.find_elements(By.CSS_SELECTOR, '.assistant')[-1].text!r}\nscreenshot: {shot}")
        print("browser check: OK")
    finally:
        driver.quit()
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
