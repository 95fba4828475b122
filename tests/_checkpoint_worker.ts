/**
 * The fresh process of tests/checkpoint_test.ts: for each case name, loads
 * `DIR/NAME.safetensors` (`{ params, state }` after 3 updates), trains one
 * more step and saves `{ params, state }` to `DIR/NAME.next.safetensors`;
 * loads the same file again through `like` (fresh params and `opt.init`)
 * and saves its next step to `DIR/NAME.like.safetensors`.
 *
 *   deno run --allow-read --allow-write tests/_checkpoint_worker.ts DIR NAME...
 *
 * @module
 */
import { data, type Tree } from "../mod.ts";
import { CASES, initParams, train } from "./_checkpoint_cases.ts";

const [dir, ...names] = Deno.args;
for (const name of names) {
  const opt = CASES[name]();
  const path = `${dir}/${name}.safetensors`;
  const saved = await data.loadSafetensors(path) as {
    params: Tree;
    state: Tree;
  };
  const next = train(opt, saved.params, saved.state, 1);
  await data.saveSafetensors(`${dir}/${name}.next.safetensors`, next);
  const fresh = initParams();
  const like = { params: fresh, state: opt.init(fresh) };
  const viaLike = await data.loadSafetensors(path, { like });
  const next2 = train(opt, viaLike.params, viaLike.state, 1);
  await data.saveSafetensors(`${dir}/${name}.like.safetensors`, next2);
}
