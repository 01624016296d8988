"""The explorer in a real headless Chromium: the page steps through a
recorded trace and expands its search tree.

The explorer runs as a program (``python3 -m alpacka.trace_explorer``) on a
free port; Selenium drives Debian's chromium with chromedriver (``make
test`` installs them: the Makefile's ``browser`` target).
"""

import os
import shutil
import signal
import subprocess
import sys

import pytest
from PIL import Image

from alpacka.utils import run_directory

CHROMIUM = shutil.which('chromium') or '/usr/bin/chromium'
CHROMEDRIVER = shutil.which('chromedriver') or '/usr/bin/chromedriver'
if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
    pytest.skip('Chromium or chromedriver is missing (Debian: apt-get install '
                'chromium chromium-driver, or `make browser` as root): the '
                'browser test of the trace explorer is skipped.',
                allow_module_level=True)

# Imported here (selenium is in the dev extra, not the shared install).
_REASON = 'selenium is missing (pip install -e .[dev] installs it)'
webdriver = pytest.importorskip('selenium.webdriver', reason=_REASON)
by = pytest.importorskip('selenium.webdriver.common.by', reason=_REASON)
keys = pytest.importorskip('selenium.webdriver.common.keys', reason=_REASON)
ui = pytest.importorskip('selenium.webdriver.support.ui', reason=_REASON)

By = by.By
WAIT_SECONDS = 30


@pytest.fixture(scope='module', name='explorer_process')
def fixture_explorer_process(recorded_run):
    """The explorer starting to serve recorded_run on a free port."""
    run_dir, _ = recorded_run
    process = subprocess.Popen(  # pylint: disable=consider-using-with
        [sys.executable, '-m', 'alpacka.trace_explorer', run_dir,
         '--port', '0', '--no-browser'],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    yield process
    if process.poll() is None:
        process.kill()
        process.wait()


@pytest.fixture(scope='module', name='browser')
def fixture_browser(explorer_process, tmp_path_factory):
    """One headless Chromium for the module (started while the explorer
    starts)."""
    del explorer_process
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    # As root, on a machine whose closed network refuses Chromium's own
    # connections: no sandbox, no background networking.
    for flag in ('--headless', '--no-sandbox', '--disable-gpu',
                 '--disable-quic', '--no-first-run',
                 '--disable-background-networking',
                 '--disable-component-update', '--disable-sync',
                 '--disable-dev-shm-usage', '--window-size=1400,1000',
                 '--user-data-dir=' + str(tmp_path_factory.mktemp('chromium'))):
        options.add_argument(flag)
    driver = webdriver.Chrome(
        service=webdriver.ChromeService(executable_path=CHROMEDRIVER),
        options=options)
    yield driver
    driver.quit()


@pytest.fixture(scope='module', name='explorer_url')
def fixture_explorer_url(explorer_process):
    """The URL the explorer prints once it serves."""
    first_line = explorer_process.stdout.readline()
    if 'http://' not in first_line:
        explorer_process.kill()
        pytest.fail(f'The explorer did not start: {first_line}'
                    f'{explorer_process.stderr.read()}')
    return first_line.split(' at ', 1)[1].split()[0]


def wait_for(driver, condition, what):
    """Waits until condition(driver) is truthy; returns it."""
    return ui.WebDriverWait(driver, WAIT_SECONDS).until(
        lambda _: condition(driver), message=f'Waited for {what}.')


def text(driver, element_id):
    """The visible text of an element."""
    return driver.find_element(By.ID, element_id).text


def assert_shows_step(driver, run_dir, trace, index):
    """The page shows step index of trace: its number, action and image."""
    step = trace['steps'][index]
    wait_for(driver, lambda d: text(d, 'step-label') ==
             f'Step {index + 1} / {len(trace["steps"])}', f'step {index + 1}')
    assert text(driver, 'chosen-action') == str(step['action'])
    image = driver.find_element(By.ID, 'state-image')
    assert image.get_attribute('data-path') == step['image']
    size = wait_for(driver, lambda d: d.execute_script(
        'const image = document.getElementById("state-image");'
        'return image.complete && image.naturalWidth && '
        '[image.naturalWidth, image.naturalHeight];'), 'the state image')
    with Image.open(os.path.join(run_directory.traces_dir(run_dir),
                                 step['image'])) as picture:
        assert tuple(size) == picture.size


def assert_root_table(driver, step):
    """The root table shows the visit counts of the root's children."""
    rows = driver.find_elements(By.CSS_SELECTOR, '#root-table tbody tr')
    root = step['nodes'][0]
    assert len(rows) == len(root['children'])
    for row, edge in zip(rows, root['children']):
        cells = row.find_elements(By.TAG_NAME, 'td')
        assert cells[1].text == ('loop' if edge['node'] == 0 else
                                 str(step['nodes'][edge['node']]['count']))


def test_the_page_steps_through_an_episode_and_expands_the_tree(
        browser, explorer_url, recorded_run):
    run_dir, recorded = recorded_run
    browser.get(explorer_url)
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR,
                                                '#episode option'),
             'the list of traces')
    options = browser.find_elements(By.CSS_SELECTOR, '#episode option')
    assert [option.get_attribute('value') for option in options] == list(
        recorded)

    # Choose the second episode.
    name = list(recorded)[1]
    ui.Select(browser.find_element(By.ID, 'episode')).select_by_value(name)
    wait_for(browser, lambda d: d.execute_script(
        'return document.body.dataset.trace') == name, 'the chosen trace')
    trace = recorded[name]
    assert_shows_step(browser, run_dir, trace, 0)

    # Forward and back, by the buttons and the arrow keys.
    browser.find_element(By.ID, 'next').click()
    assert_shows_step(browser, run_dir, trace, 1)
    body = browser.find_element(By.TAG_NAME, 'body')
    body.send_keys(keys.Keys.ARROW_RIGHT)
    assert_shows_step(browser, run_dir, trace, 2)
    body.send_keys(keys.Keys.ARROW_LEFT)
    assert_shows_step(browser, run_dir, trace, 1)
    browser.find_element(By.ID, 'prev').click()
    assert_shows_step(browser, run_dir, trace, 0)
    assert not browser.find_element(By.ID, 'prev').is_enabled()
    final = browser.find_element(By.ID, 'final-image')
    assert not final.is_displayed()

    # The last step also shows the episode's last state; no step beyond.
    last = len(trace['steps']) - 1
    for _ in range(last + 1):
        body.send_keys(keys.Keys.ARROW_RIGHT)
    assert_shows_step(browser, run_dir, trace, last)
    assert final.get_attribute('data-path') == trace['final_image']
    assert not browser.find_element(By.ID, 'next').is_enabled()
    for _ in range(last):
        body.send_keys(keys.Keys.ARROW_LEFT)
    assert_shows_step(browser, run_dir, trace, 0)

    step = trace['steps'][0]
    assert_root_table(browser, step)
    root = step['nodes'][0]

    # Expand a child of the root that has children of its own.
    nodes = step['nodes']
    # (A tree edge: not an action that leaves the state as it is.)
    child = next(nodes[edge['node']] for edge in root['children']
                 if edge['node'] is not None and
                 nodes[edge['node']]['parent'] == 0 and
                 nodes[edge['node']]['expanded'])
    label = browser.find_element(
        By.CSS_SELECTOR, f'.node-label[data-node-id="{child["id"]}"]')
    assert label.text.startswith(f'a={child["action"]} N={child["count"]} ')
    label.click()
    # Shown as nodes: the children first reached from child; the other
    # edges (transpositions, loops, left out) as notes.
    grandchildren = [nodes[edge['node']] for edge in child['children']
                     if edge['node'] is not None and
                     nodes[edge['node']]['parent'] == child['id']]
    assert grandchildren

    shown = wait_for(browser, lambda d: d.find_elements(
        By.CSS_SELECTOR, f'li[data-node-id="{child["id"]}"] > ul > li > '
        '.node-label'), 'the expanded children')
    assert [int(element.get_attribute('data-count')) for element in shown] == [
        node['count'] for node in grandchildren]
    assert [float(element.get_attribute('data-value'))
            for element in shown] == pytest.approx(
                [node['value'] for node in grandchildren])
    for element, node in zip(shown, grandchildren):
        assert f'N={node["count"]} ' in element.text
    notes = browser.find_elements(
        By.CSS_SELECTOR, f'li[data-node-id="{child["id"]}"] > ul > '
        'li.edge-note')
    assert len(notes) == len(child['children']) - len(grandchildren)
    # The selected node's state image and details.
    assert browser.find_element(By.ID, 'node-image').get_attribute(
        'data-path') == child['image']
    assert f'N       {child["count"]}' in text(browser, 'node-details')


def test_the_server_stops_cleanly_on_ctrl_c(explorer_process, explorer_url):
    del explorer_url  # It serves.
    process = explorer_process
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=WAIT_SECONDS)
    assert process.returncode == 0, stderr
    assert 'Stopped.' in stdout
    assert 'Traceback' not in stderr
