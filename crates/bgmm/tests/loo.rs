//! PSIS-LOO, WAIC and `compare` against ArviZ 0.23.4 on fixed pointwise log likelihoods.
//!
//! Three models of 40 points, 36 standard normal draws and 4 outliers: a normal model, a
//! Student-t (ν = 4) model and a normal model with σ fixed at 1; their "posterior draws" are
//! AR(1) chains (4 chains × 500 draws) around plausible values, so that the chains are
//! autocorrelated (reff ≈ 0.24–0.59) and the normal model's Pareto k exceeds ArviZ's `good_k`
//! at the outlier y = 10. Everything is generated here by splitmix64 and Box–Muller, and the
//! same recipe in `tests/data/loo_arviz.py` rebuilds the arrays and prints ArviZ's numbers below
//! (`python crates/bgmm/tests/data/loo_arviz.py` with arviz 0.23.4, numpy and scipy).

use bgmm::{compare, psis_loo, relative_efficiency, waic, CompareRow, Error, Loo, Waic, Weighting};

const CHAINS: usize = 4;
const DRAWS: usize = 500;
const POINTS: usize = 40;
const OUTLIERS: [(usize, f64); 4] = [(7, 6.0), (19, -7.5), (31, 10.0), (38, 4.0)];

struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// In (0, 1): the top 53 bits, shifted half a step.
    fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) * 2f64.powi(-53)
    }

    fn normal(&mut self) -> f64 {
        let u1 = self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

fn data() -> Vec<f64> {
    let mut rng = SplitMix64(42);
    let mut y: Vec<f64> = (0..POINTS).map(|_| rng.normal()).collect();
    for (i, v) in OUTLIERS {
        y[i] = v;
    }
    y
}

fn mean_sd(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    let ss: f64 = x.iter().map(|v| (v - m) * (v - m)).sum();
    (m, (ss / (n - 1.0)).sqrt())
}

/// `out[c][t][p] = center_p + scale_p · z`, z an AR(1) series started at stationarity.
fn ar1_chains(seed: u64, centers: &[f64], scales: &[f64], rho: f64) -> Vec<Vec<Vec<f64>>> {
    let mut rng = SplitMix64(seed);
    let innov = (1.0 - rho * rho).sqrt();
    (0..CHAINS)
        .map(|_| {
            let mut z: Vec<f64> = centers.iter().map(|_| rng.normal()).collect();
            (0..DRAWS)
                .map(|t| {
                    if t > 0 {
                        z = z.iter().map(|zp| rho * zp + innov * rng.normal()).collect();
                    }
                    (0..centers.len())
                        .map(|p| centers[p] + scales[p] * z[p])
                        .collect()
                })
                .collect()
        })
        .collect()
}

fn normal_logpdf(y: f64, mu: f64, sigma: f64) -> f64 {
    let z = (y - mu) / sigma;
    -0.5 * (2.0 * std::f64::consts::PI).ln() - sigma.ln() - 0.5 * z * z
}

fn t4_logpdf(y: f64, mu: f64, sigma: f64) -> f64 {
    // lgamma(5/2) − lgamma(2) − log(4π)/2
    let c = (0.75 * std::f64::consts::PI.sqrt()).ln() - 0.5 * (4.0 * std::f64::consts::PI).ln();
    let z = (y - mu) / sigma;
    c - sigma.ln() - 2.5 * (z * z / 4.0).ln_1p()
}

/// A model: its name, posterior draws `[c][t][param]` (mu, and sigma where it is free) and
/// pointwise log likelihood `[c][t][i]`.
struct Model {
    name: &'static str,
    posterior: Vec<Vec<Vec<f64>>>,
    log_lik: Vec<Vec<Vec<f64>>>,
}

fn models() -> Vec<Model> {
    let y = data();
    let n = y.len() as f64;
    let (m, s) = mean_sd(&y);
    let inliers: Vec<f64> = y.iter().copied().filter(|v| v.abs() < 3.0).collect();
    let (mi, si) = mean_sd(&inliers);
    let half = 1.0 / (2.0 * n).sqrt();
    // name, seed, centres and scales of mu (and log sigma), AR(1) coefficient
    let specs = [
        (
            "normal",
            1001,
            vec![m, s.ln()],
            vec![s / n.sqrt(), half],
            0.6,
        ),
        (
            "student_t",
            1002,
            vec![mi, si.ln()],
            vec![si / n.sqrt(), half],
            0.6,
        ),
        ("normal_fixed", 1003, vec![m], vec![1.0 / n.sqrt()], 0.3),
    ];
    specs
        .into_iter()
        .map(|(name, seed, centers, scales, rho)| {
            let draws = ar1_chains(seed, &centers, &scales, rho);
            // (mu, sigma) of every draw; the posterior holds sigma itself, not its log
            let theta = |d: &[f64]| (d[0], d.get(1).map_or(1.0, |v| v.exp()));
            let posterior = draws
                .iter()
                .map(|c| {
                    c.iter()
                        .map(|d| {
                            let (mu, sigma) = theta(d);
                            if d.len() > 1 {
                                vec![mu, sigma]
                            } else {
                                vec![mu]
                            }
                        })
                        .collect()
                })
                .collect();
            let log_lik = draws
                .iter()
                .map(|c| {
                    c.iter()
                        .map(|d| {
                            let (mu, sigma) = theta(d);
                            y.iter()
                                .map(|&yi| {
                                    if name == "student_t" {
                                        t4_logpdf(yi, mu, sigma)
                                    } else {
                                        normal_logpdf(yi, mu, sigma)
                                    }
                                })
                                .collect()
                        })
                        .collect()
                })
                .collect();
            Model {
                name,
                posterior,
                log_lik,
            }
        })
        .collect()
}

/// ArviZ's numbers of one model.
struct ArvizModel {
    name: &'static str,
    /// The mean of `ess(posterior, method="mean")` over mu (and sigma), over 2000 draws.
    reff: f64,
    good_k: f64,
    elpd_loo: f64,
    se_loo: f64,
    p_loo: f64,
    warning_loo: bool,
    loo_i: [f64; POINTS],
    pareto_k: [f64; POINTS],
    /// `loo(..., reff=1.0)`.
    elpd_loo_reff1: f64,
    pareto_k_reff1: [f64; POINTS],
    elpd_waic: f64,
    se_waic: f64,
    p_waic: f64,
    warning_waic: bool,
    waic_i: [f64; POINTS],
}

/// A row of ArviZ's `compare`: name, rank, elpd, p, elpd_diff, weight, se, dse, warning.
struct ArvizRow(&'static str, usize, f64, f64, f64, f64, f64, f64, bool);

// ArviZ 0.23.4, printed by tests/data/loo_arviz.py
const ARVIZ: [ArvizModel; 3] = [
    ArvizModel {
        name: "normal",
        reff: 0.24168361726312818,
        good_k: 0.6970642492453765,
        elpd_loo: -96.97917390507854,
        se_loo: 11.671483205195035,
        p_loo: 5.811052332572842,
        // k > good_k at points [31]
        warning_loo: true,
        loo_i: [
            -1.8425436509053617,
            -1.9564767176442217,
            -2.0191073075795334,
            -1.8470196962718717,
            -1.99696977843334,
            -2.2013000838263137,
            -2.012416786708548,
            -4.806839829955851,
            -2.336503808084476,
            -1.9417266655519523,
            -1.8409542146018536,
            -1.9279562518194258,
            -1.878828671981302,
            -1.841890129254069,
            -1.854147078737169,
            -1.841673243349664,
            -1.8416202796356984,
            -1.9202245613354485,
            -1.8631959415074313,
            -7.979405573395989,
            -1.8502314486110878,
            -1.8410032161179437,
            -1.8784026194397656,
            -1.9453592659803478,
            -1.9047810714559956,
            -1.8464515160974706,
            -1.9435553962143448,
            -1.910880760130948,
            -1.9424143122531126,
            -1.845355573728419,
            -1.9893824618329816,
            -11.903855580262107,
            -1.9951146509474178,
            -1.8504356559915935,
            -1.8428176820583682,
            -1.8615319250027733,
            -1.8813940865048542,
            -1.8409434673834246,
            -3.04078373840795,
            -2.1136792060781078,
        ],
        pareto_k: [
            -0.01589338471313341,
            -0.007972225577070108,
            0.014798921925020275,
            -0.020034591955588366,
            0.07262350543286522,
            0.06672269973990193,
            0.07687483526256851,
            0.32362722606564226,
            0.061205895198836784,
            -0.03664990497113987,
            0.015480785550819713,
            -0.041246198363971774,
            -0.045289974783603616,
            0.015758683188851357,
            0.005886267535218733,
            -0.013659136731843246,
            0.017552745235308104,
            -0.06799483556970727,
            -0.0138052660717681,
            0.6607552549145734,
            -0.01118966210248777,
            0.01801898383899406,
            -0.04383716394854698,
            0.0009715193705205078,
            -0.02666165927035754,
            -0.013225364826581647,
            -0.014268764919627648,
            -0.033966013444404766,
            -0.027550071393965835,
            -0.015271539058772057,
            0.020221459533406358,
            1.0035378607083343,
            0.08013796824806417,
            0.030363546377852362,
            -0.012625399538662117,
            -0.005733116137185061,
            -0.012363005411695977,
            0.010070972703317502,
            0.24224180729557263,
            0.10274807404145761,
        ],
        elpd_loo_reff1: -96.94022486587221,
        pareto_k_reff1: [
            0.16950717531406806,
            -0.1262013679307308,
            0.12460080731491696,
            0.13124587415984926,
            -0.03289805065377541,
            0.06511796891077358,
            -0.03939219421728996,
            0.3000097149039866,
            0.02957584400619908,
            -0.11383057424501972,
            0.12128467121219895,
            -0.07791469894789527,
            -0.004178417576401368,
            0.09670382550515956,
            0.02225562768229022,
            0.162651552693796,
            0.08791369719852202,
            -0.05859284213985175,
            0.0632174000610609,
            0.7359508864260869,
            0.11148910765462255,
            0.10134878823665738,
            -0.0021601743505424826,
            0.08287171373151381,
            0.11649661125277692,
            0.1462230957089129,
            -0.11184031602935142,
            0.1351365342532699,
            -0.11309290240485302,
            0.1510317091896655,
            0.08042248654739036,
            0.7883432179333153,
            -0.03187760273744439,
            0.03764166752756494,
            0.16325878800639135,
            0.05546553710139902,
            0.1245936293950234,
            0.12351417100601833,
            0.2366736436067545,
            0.017019615310463237,
        ],
        elpd_waic: -96.6373794663822,
        se_waic: 11.4525943301212,
        p_waic: 5.469257893876518,
        warning_waic: true,
        waic_i: [
            -1.842492335703215,
            -1.956466341002818,
            -2.0190633890828855,
            -1.846968160278794,
            -1.996960416876632,
            -2.2012038925243345,
            -2.012400129515956,
            -4.797823444227996,
            -2.3363219661036423,
            -1.9417027379176166,
            -1.8409099497327033,
            -1.927926111872846,
            -1.878780704917515,
            -1.8418462844026813,
            -1.8541048665162243,
            -1.8416224155574712,
            -1.8415766944766752,
            -1.9201857802333906,
            -1.8631510361975945,
            -7.827223149819847,
            -1.8501828889762308,
            -1.840959411338839,
            -1.878354927878983,
            -1.9453280496730214,
            -1.9047357152280946,
            -1.846401890822547,
            -1.9435373780868814,
            -1.9108344944331037,
            -1.9423928605286633,
            -1.8453051035640378,
            -1.9893462097282975,
            -11.725538672848028,
            -1.9951074944584375,
            -1.8503983291998112,
            -1.8427673831421458,
            -1.861488759815118,
            -1.8813493957917524,
            -1.8408980903199204,
            -3.0400967107753263,
            -2.1136258928121276,
        ],
    },
    ArvizModel {
        name: "student_t",
        reff: 0.27007891984450905,
        good_k: 0.6970642492453765,
        elpd_loo: -81.49405063207334,
        se_loo: 12.27254910934494,
        p_loo: 1.5912660027207153,
        // k > good_k at points []
        warning_loo: false,
        loo_i: [
            -1.1006383434824034,
            -1.3931357944055733,
            -2.5771939498174827,
            -1.1939724324710665,
            -1.593577335164702,
            -2.477566293433534,
            -1.6683046150660017,
            -7.080336734962523,
            -2.9478933430198397,
            -1.3192049025871153,
            -1.018722491976833,
            -1.2504371649110215,
            -1.0209906887037192,
            -0.9821878131331614,
            -0.9463114143805607,
            -1.0732195105087987,
            -0.9876913841681789,
            -1.2121204510670944,
            -0.9657040380399016,
            -8.031965491283433,
            -1.2459533229983784,
            -1.0121487063488788,
            -1.0192710140291412,
            -2.1256200191111567,
            -1.8182135712136303,
            -1.1839867553541792,
            -1.3283904530984962,
            -1.8682630203319555,
            -1.3226601610924646,
            -1.163637603373611,
            -2.407806635576735,
            -9.475753915317824,
            -1.5845345510770148,
            -0.943993129562597,
            -1.1079909675912685,
            -0.9611414100092226,
            -1.6084030593320273,
            -1.0228754702653298,
            -5.325704848013856,
            -2.1265278257926274,
        ],
        pareto_k: [
            -0.10347528433306312,
            -0.01805759819155749,
            0.052109897113124914,
            -0.11975780814537133,
            -0.02017661036807981,
            -0.021734294806295816,
            -0.014161183373207728,
            0.10255129001006394,
            0.00931288584928552,
            -0.0048113433306071745,
            -0.06511820895055682,
            -0.0006087245480730751,
            -0.1268920240859572,
            -0.046800569999507484,
            -0.06361572826395086,
            -0.061757115529140504,
            -0.022855172556394333,
            0.004635178861361699,
            -0.09317987980177111,
            -0.02170955020322559,
            -0.06171963931713421,
            -0.05674188796022922,
            -0.11834140953324192,
            0.05411468259919216,
            0.027226896437767118,
            -0.12341473319471369,
            -0.005555531239306873,
            0.03297961400422885,
            -0.005991351399200424,
            -0.14513185773237136,
            0.05297289348226079,
            0.1205228974563583,
            -0.019371395619685598,
            -0.058338891395881165,
            -0.12104355027928233,
            -0.09060550850877033,
            0.026887084094199636,
            -0.06445725660141353,
            0.08289790283551367,
            -0.01700249674707395,
        ],
        elpd_loo_reff1: -81.49400918119088,
        pareto_k_reff1: [
            -0.031091762343924537,
            -0.002298195052611514,
            0.05204520876932677,
            -0.079035095407062,
            0.003413280147628351,
            0.0049029080932554165,
            -0.011975522208007109,
            0.061292996910459176,
            -0.02070332664883104,
            -0.0032472562677486492,
            -0.05537083676877244,
            0.047311911100414765,
            -0.11123877213245609,
            -0.02719649613607438,
            0.00979422662885162,
            -0.0357005672472233,
            -0.034190990432479224,
            0.027123510479554663,
            -0.022744304521852242,
            0.06523174763011388,
            -0.037436191155121694,
            -0.04811659478826566,
            -0.11764064852594458,
            0.05558364483247074,
            0.14857968827965112,
            -0.0883286362346566,
            0.007090740865624116,
            0.11718695997273193,
            0.0026703094853122167,
            -0.10540486416849514,
            0.09235429468076771,
            0.08022956339296437,
            -0.0003526335503825498,
            0.012654014313262678,
            -0.04135676087080657,
            -0.01951701401898547,
            0.09556364805938818,
            -0.044629428050415094,
            0.03433078305166105,
            0.028590234778907226,
        ],
        elpd_waic: -81.4910069195379,
        se_waic: 12.272867451388079,
        p_waic: 1.5882222901852674,
        warning_waic: false,
        waic_i: [
            -1.100601201046492,
            -1.3930315166779517,
            -2.5769288764694456,
            -1.1939180508161733,
            -1.5934335745566839,
            -2.477313845683024,
            -1.6681515743036959,
            -7.080678846381823,
            -2.947684632436911,
            -1.3191254915916655,
            -1.0186795282901842,
            -1.2503757977025645,
            -1.0209564438619636,
            -0.9821455080241072,
            -0.9462690044785511,
            -1.0731852652961653,
            -0.9876537937315333,
            -1.2120710907172485,
            -0.9656628975672041,
            -8.031668057788824,
            -1.2458936030560632,
            -1.0121067394919898,
            -1.0192389075407406,
            -2.1254062908405262,
            -1.8180299807969467,
            -1.1839358293847857,
            -1.3283084252239403,
            -1.8680752805789274,
            -1.3225794082790794,
            -1.1635888673649921,
            -2.407556904202037,
            -9.476130143321232,
            -1.5843928017607432,
            -0.9439494546013651,
            -1.107951430091211,
            -0.961099401753597,
            -1.6082724288131423,
            -1.0228330639959575,
            -5.325811501737464,
            -2.1263114592809447,
        ],
    },
    ArvizModel {
        name: "normal_fixed",
        reff: 0.5861136125194993,
        good_k: 0.6970642492453765,
        elpd_loo: -158.53983205066703,
        se_loo: 57.57592365661253,
        p_loo: 5.745906959339891,
        // k > good_k at points []
        warning_loo: false,
        loo_i: [
            -0.9455133004273479,
            -1.5981533493371822,
            -2.0558100569547966,
            -0.976592375122034,
            -1.8367966193031489,
            -3.03835681893018,
            -1.9278147796114213,
            -17.88855331969074,
            -3.828111755313972,
            -1.511226478819335,
            -0.9315019392359911,
            -1.4301876727169596,
            -1.142493178270275,
            -0.934465663616356,
            -1.0005972195155906,
            -0.9389067746976316,
            -0.9333008016379125,
            -1.3847022619054803,
            -1.052143507808525,
            -31.68452227593731,
            -0.9980256073874241,
            -0.9313694242070589,
            -1.1400191209512398,
            -1.5992456783238271,
            -1.3456594078518025,
            -0.9727692045978396,
            -1.522024749130023,
            -1.383907798228564,
            -1.5152882317069905,
            -0.9653047256562894,
            -1.8722929091299951,
            -49.65818045355627,
            -1.8258736527028194,
            -0.979808388434444,
            -0.9475209881958992,
            -1.0426128279538167,
            -1.1982712638559425,
            -0.9316940402217666,
            -8.14618436898075,
            -2.524029060742098,
        ],
        pareto_k: [
            -0.000132730188414368,
            -0.1345848466425211,
            -0.013898076298042787,
            -0.020086939560326488,
            -0.12814067396631937,
            -0.09756993630167127,
            -0.12566940096567142,
            0.22837374970827212,
            -0.08002923284612729,
            -0.1368453710663269,
            -0.0410350929921539,
            -0.138840445245922,
            -0.14272006277917793,
            -0.09206268993982576,
            -0.13380437223593,
            0.012633948551361816,
            -0.09997872052305931,
            -0.1398821245361884,
            -0.1397771350032571,
            0.2439788692071996,
            -0.025747954421105466,
            -0.1001063569439293,
            -0.14269647173463498,
            -0.026744274623634556,
            -0.03318005549312059,
            -0.018691003713759247,
            -0.13656987997861642,
            -0.032329429690241156,
            -0.13674196039765105,
            -0.015437156500196371,
            -0.019054322048641294,
            0.4803529361550113,
            -0.12843774101092903,
            -0.1288220556491566,
            -0.002489987855801236,
            -0.1390620318724252,
            -0.0353948322948012,
            0.01211984938420588,
            0.10748027266219945,
            -0.11004441592497917,
        ],
        elpd_loo_reff1: -158.5426446222304,
        pareto_k_reff1: [
            -0.017058588499448794,
            -0.17861813668481108,
            -0.02597327232162629,
            -0.03399161449338034,
            -0.17293585627334485,
            -0.14637923299791028,
            -0.17076977092479032,
            0.2007260180747593,
            -0.13129396271398944,
            -0.1806305320990776,
            -0.03453358741363271,
            -0.18242271985130729,
            -0.18626154499499797,
            -0.13902660182775695,
            -0.179526658948361,
            -0.007851345931400166,
            -0.1434858178821715,
            -0.1833686151253644,
            -0.18414630827115178,
            0.13678428112993313,
            -0.03879862645760091,
            -0.07304517895236132,
            -0.1862491464610555,
            -0.03809620924235768,
            -0.044286625052056564,
            -0.03280476035962083,
            -0.18038443967685466,
            -0.043453688057638606,
            -0.18053812467580893,
            -0.030038202072637604,
            -0.030824401046864163,
            0.43774671630789364,
            -0.17319662182349888,
            -0.17563601432931897,
            -0.01905245400691195,
            -0.1836006388330636,
            -0.046586161050439806,
            0.017671008244279772,
            0.08752407515721171,
            -0.15716542575944434,
        ],
        elpd_waic: -158.6189924048447,
        se_waic: 57.63152330342658,
        p_waic: 5.825067313517593,
        warning_waic: true,
        waic_i: [
            -0.9455066564417957,
            -1.5980441663506,
            -2.0556585796849753,
            -0.9765790348065005,
            -1.8366593580775659,
            -3.0381275636798266,
            -1.9276677203291932,
            -17.893285992523527,
            -3.827864293048546,
            -1.5111284289139626,
            -0.9314988117014453,
            -1.4301004707153187,
            -1.1424488190564004,
            -0.9344613559513703,
            -1.0005779358849247,
            -0.9389019445229454,
            -0.9332966897261793,
            -1.3846213583773959,
            -1.052114580675401,
            -31.705519421323206,
            -0.9980081941673802,
            -0.9313659634760333,
            -1.1399751670637948,
            -1.5991427176218134,
            -1.3455887164562166,
            -0.972756622225533,
            -1.5219252885284904,
            -1.3838319652663726,
            -1.5151896502313713,
            -0.9652936608897598,
            -1.8721595453115387,
            -49.71392558640513,
            -1.8257376003685946,
            -0.9797933143150807,
            -0.9475138536589554,
            -1.0425856226271077,
            -1.198221451035182,
            -0.9316914671832502,
            -8.146393348060199,
            -2.52382948816183,
        ],
    },
];
// az.compare(models, ic="loo", method="stacking")
const COMPARE_LOO_STACKING: [ArvizRow; 3] = [
    ArvizRow(
        "student_t",
        0,
        -81.49405063207334,
        1.5912660027207153,
        0.0,
        0.9559535806071819,
        12.27254910934494,
        0.0,
        false,
    ),
    ArvizRow(
        "normal",
        1,
        -96.97917390507854,
        5.811052332572842,
        15.485123273005197,
        0.04404641939281724,
        11.671483205195035,
        5.082991087980574,
        true,
    ),
    ArvizRow(
        "normal_fixed",
        2,
        -158.53983205066703,
        5.745906959339891,
        77.04578141859372,
        8.845667032460153e-16,
        57.57592365661253,
        46.409993518831,
        false,
    ),
];
// az.compare(models, ic="waic", method="stacking")
const COMPARE_WAIC_STACKING: [ArvizRow; 3] = [
    ArvizRow(
        "student_t",
        0,
        -81.4910069195379,
        1.5882222901852674,
        0.0,
        0.953285917865906,
        12.272867451388079,
        0.0,
        false,
    ),
    ArvizRow(
        "normal",
        1,
        -96.6373794663822,
        5.469257893876518,
        15.146372546844308,
        0.04671408213409293,
        11.4525943301212,
        5.034453662119274,
        true,
    ),
    ArvizRow(
        "normal_fixed",
        2,
        -158.6189924048447,
        5.825067313517593,
        77.12798548530682,
        1.0292314021321026e-15,
        57.63152330342658,
        46.46639549727857,
        true,
    ),
];
// az.compare(models, ic="loo", method="pseudo-BMA")
const COMPARE_LOO_PSEUDO_BMA: [ArvizRow; 3] = [
    ArvizRow(
        "student_t",
        0,
        -81.49405063207334,
        1.5912660027207153,
        0.0,
        0.9999998116800505,
        12.27254910934494,
        0.0,
        false,
    ),
    ArvizRow(
        "normal",
        1,
        -96.97917390507854,
        5.811052332572842,
        15.485123273005197,
        1.883199495508258e-07,
        11.671483205195035,
        5.082991087980574,
        true,
    ),
    ArvizRow(
        "normal_fixed",
        2,
        -158.53983205066703,
        5.745906959339891,
        77.04578141859372,
        3.462917891385905e-34,
        57.57592365661253,
        46.409993518831,
        false,
    ),
];
// az.compare(models, ic="waic", method="pseudo-BMA")
const COMPARE_WAIC_PSEUDO_BMA: [ArvizRow; 3] = [
    ArvizRow(
        "student_t",
        0,
        -81.4910069195379,
        1.5882222901852674,
        0.0,
        0.9999997357506868,
        12.272867451388079,
        0.0,
        false,
    ),
    ArvizRow(
        "normal",
        1,
        -96.6373794663822,
        5.469257893876518,
        15.146372546844308,
        2.642493132422047e-07,
        11.4525943301212,
        5.034453662119274,
        true,
    ),
    ArvizRow(
        "normal_fixed",
        2,
        -158.6189924048447,
        5.825067313517593,
        77.12798548530682,
        3.1896379410164724e-34,
        57.63152330342658,
        46.46639549727857,
        true,
    ),
];
// the stacking optimum of ['student_t', 'normal', 'normal_fixed']; g = [0.9999999999999998, 1.0000000000000004, 0.9674539135174707]
const STACKING_OPTIMUM_LOO: [f64; 3] = [0.955894776020234, 0.04410522397976602, 0.0];
// the stacking optimum of ['student_t', 'normal', 'normal_fixed']; g = [1.0, 1.0000000000000004, 0.9682008289919585]
const STACKING_OPTIMUM_WAIC: [f64; 3] = [0.9532172835750302, 0.046782716424969784, 0.0];

/// The largest relative difference `|a − b| / |b|` (absolute where b is 0).
fn rel(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        a.abs()
    } else {
        ((a - b) / b).abs()
    }
}

fn max_rel(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(a, b)| rel(*a, *b))
        .fold(0.0, f64::max)
}

fn max_abs(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max)
}

const REL: f64 = 1e-6;

fn loo_of(m: &Model) -> Loo {
    psis_loo(&m.log_lik, relative_efficiency(&m.posterior).unwrap()).unwrap()
}

#[test]
fn relative_efficiency_is_arvizs_default_reff() {
    for (m, a) in models().iter().zip(&ARVIZ) {
        assert_eq!(m.name, a.name);
        let reff = relative_efficiency(&m.posterior).unwrap();
        eprintln!(
            "{}: reff {reff} (ArviZ {}), rel diff {:.1e}",
            m.name,
            a.reff,
            rel(reff, a.reff)
        );
        assert!(
            rel(reff, a.reff) < REL,
            "{}: reff {reff} vs {}",
            m.name,
            a.reff
        );
    }
    // one chain: 1, as ArviZ
    let one = vec![models()[0].posterior[0].clone()];
    assert_eq!(relative_efficiency(&one).unwrap(), 1.0);
}

#[test]
fn psis_loo_matches_arviz() {
    for (m, a) in models().iter().zip(&ARVIZ) {
        let loo = loo_of(m);
        let (d_elpd, d_se, d_p) = (
            rel(loo.elpd, a.elpd_loo),
            rel(loo.se, a.se_loo),
            rel(loo.p, a.p_loo),
        );
        let d_i = max_rel(&loo.pointwise, &a.loo_i);
        let d_k = max_abs(&loo.pareto_k, &a.pareto_k);
        eprintln!(
            "{}: elpd_loo {d_elpd:.1e}, se {d_se:.1e}, p_loo {d_p:.1e}, loo_i {d_i:.1e} (relative); pareto_k {d_k:.1e} (absolute)",
            m.name
        );
        assert!(
            d_elpd < REL,
            "{}: elpd_loo {} vs {}",
            m.name,
            loo.elpd,
            a.elpd_loo
        );
        assert!(d_se < REL, "{}: se {} vs {}", m.name, loo.se, a.se_loo);
        assert!(d_p < REL, "{}: p_loo {} vs {}", m.name, loo.p, a.p_loo);
        assert!(d_i < REL, "{}: loo_i off by {d_i:.1e}", m.name);
        assert!(d_k < 1e-6, "{}: pareto_k off by {d_k:.1e}", m.name);
        assert_eq!(loo.warning, a.warning_loo, "{}", m.name);
        assert_eq!(loo.good_k, a.good_k);
        assert_eq!((loo.n_draws, loo.n_points), (CHAINS * DRAWS, POINTS));
        assert_eq!(loo.looic(), -2.0 * loo.elpd);
        let expected_bad: Vec<usize> = (0..POINTS).filter(|&i| a.pareto_k[i] > a.good_k).collect();
        assert_eq!(loo.bad_points(), expected_bad, "{}", m.name);
    }
    // the normal model is the one ArviZ warns about, at the outlier y = 10
    assert_eq!(loo_of(&models()[0]).bad_points(), vec![31]);
}

#[test]
fn psis_loo_with_reff_one_matches_arviz_and_differs_from_the_default() {
    for (m, a) in models().iter().zip(&ARVIZ) {
        let loo = psis_loo(&m.log_lik, 1.0).unwrap();
        let d_k = max_abs(&loo.pareto_k, &a.pareto_k_reff1);
        eprintln!(
            "{} (reff 1): elpd_loo {:.1e} (relative), pareto_k {d_k:.1e}",
            m.name,
            rel(loo.elpd, a.elpd_loo_reff1)
        );
        assert!(rel(loo.elpd, a.elpd_loo_reff1) < REL, "{}", m.name);
        assert!(d_k < 1e-6, "{}: pareto_k off by {d_k:.1e}", m.name);
        // reff sets the tail length, so it changes every k: the comparison above sees it
        assert!(max_abs(&a.pareto_k_reff1, &a.pareto_k) > 1e-3, "{}", m.name);
    }
}

#[test]
fn waic_matches_arviz() {
    for (m, a) in models().iter().zip(&ARVIZ) {
        let w: Waic = waic(&m.log_lik).unwrap();
        let d_i = max_rel(&w.pointwise, &a.waic_i);
        eprintln!(
            "{}: elpd_waic {:.1e}, se {:.1e}, p_waic {:.1e}, waic_i {d_i:.1e} (relative)",
            m.name,
            rel(w.elpd, a.elpd_waic),
            rel(w.se, a.se_waic),
            rel(w.p, a.p_waic)
        );
        assert!(
            rel(w.elpd, a.elpd_waic) < REL,
            "{}: {} vs {}",
            m.name,
            w.elpd,
            a.elpd_waic
        );
        assert!(
            rel(w.se, a.se_waic) < REL,
            "{}: {} vs {}",
            m.name,
            w.se,
            a.se_waic
        );
        assert!(
            rel(w.p, a.p_waic) < REL,
            "{}: {} vs {}",
            m.name,
            w.p,
            a.p_waic
        );
        assert!(d_i < REL, "{}: waic_i off by {d_i:.1e}", m.name);
        assert_eq!(w.warning, a.warning_waic, "{}", m.name);
        assert_eq!((w.n_draws, w.n_points), (CHAINS * DRAWS, POINTS));
    }
}

/// Every column but the weight against ArviZ's row, to `REL`; returns the weights.
fn check_rows(rows: &[CompareRow], expected: &[ArvizRow; 3], what: &str) -> Vec<f64> {
    assert_eq!(rows.len(), 3);
    let mut worst = 0.0f64;
    for (r, e) in rows.iter().zip(expected) {
        assert_eq!((r.name.as_str(), r.rank), (e.0, e.1), "{what}");
        for (got, want, col) in [
            (r.elpd, e.2, "elpd"),
            (r.p, e.3, "p"),
            (r.elpd_diff, e.4, "elpd_diff"),
            (r.se, e.6, "se"),
            (r.dse, e.7, "dse"),
        ] {
            worst = worst.max(rel(got, want));
            assert!(
                rel(got, want) < REL,
                "{what} {}: {col} {got} vs ArviZ's {want}",
                r.name
            );
        }
        assert_eq!(r.warning, e.8, "{what} {}", r.name);
    }
    eprintln!("{what}: columns but the weight within {worst:.1e} (relative)");
    rows.iter().map(|r| r.weight).collect()
}

#[test]
fn compare_by_stacking_matches_arviz() {
    let ms = models();
    let loos: Vec<(String, Loo)> = ms.iter().map(|m| (m.name.to_string(), loo_of(m))).collect();
    let waics: Vec<(String, Waic)> = ms
        .iter()
        .map(|m| (m.name.to_string(), waic(&m.log_lik).unwrap()))
        .collect();
    // the models in another order than ArviZ's: compare ranks them
    let weights_loo = check_rows(
        &compare(&loos, Weighting::Stacking).unwrap(),
        &COMPARE_LOO_STACKING,
        "loo, stacking",
    );
    let weights_waic = check_rows(
        &compare(&waics, Weighting::Stacking).unwrap(),
        &COMPARE_WAIC_STACKING,
        "waic, stacking",
    );
    for (w, optimum, arviz, what) in [
        (
            &weights_loo,
            &STACKING_OPTIMUM_LOO,
            &COMPARE_LOO_STACKING,
            "loo",
        ),
        (
            &weights_waic,
            &STACKING_OPTIMUM_WAIC,
            &COMPARE_WAIC_STACKING,
            "waic",
        ),
    ] {
        let arviz: Vec<f64> = arviz.iter().map(|r| r.5).collect();
        eprintln!(
            "{what} stacking weights {w:?}: off the optimum by {:.1e}, off ArviZ's SLSQP by {:.1e}",
            max_abs(w, optimum),
            max_abs(w, &arviz)
        );
        // the optimum, to its KKT tolerance
        assert!(max_abs(w, optimum) < 1e-9, "{what}: {w:?} vs {optimum:?}");
        assert!(max_rel(&w[..2], &optimum[..2]) < 1e-8, "{what}: {w:?}");
        // ArviZ's SLSQP stops at scipy's default ftol = 1e-6, ≈ 6e-5 short of it
        assert!(
            max_abs(w, &arviz) < 1e-4,
            "{what}: {w:?} vs ArviZ's {arviz:?}"
        );
        assert_eq!(w.iter().sum::<f64>(), 1.0);
    }
}

#[test]
fn compare_by_pseudo_bma_matches_arviz() {
    let ms = models();
    let loos: Vec<(String, Loo)> = ms.iter().map(|m| (m.name.to_string(), loo_of(m))).collect();
    let waics: Vec<(String, Waic)> = ms
        .iter()
        .map(|m| (m.name.to_string(), waic(&m.log_lik).unwrap()))
        .collect();
    for (rows, expected, what) in [
        (
            compare(&loos, Weighting::PseudoBma).unwrap(),
            &COMPARE_LOO_PSEUDO_BMA,
            "loo",
        ),
        (
            compare(&waics, Weighting::PseudoBma).unwrap(),
            &COMPARE_WAIC_PSEUDO_BMA,
            "waic",
        ),
    ] {
        let w = check_rows(&rows, expected, what);
        let arviz: Vec<f64> = expected.iter().map(|r| r.5).collect();
        // elpd differences of 15 and 77 make weights of 1e-7 and 1e-34: relative to each
        eprintln!(
            "{what} pseudo-BMA weights: {:.1e} (relative)",
            max_rel(&w, &arviz)
        );
        assert!(max_rel(&w, &arviz) < REL, "{what}: {w:?} vs {arviz:?}");
    }
}

#[test]
fn bayesian_bootstrap_pseudo_bma_weights_and_se() {
    let ms = models();
    let loos: Vec<(String, Loo)> = ms.iter().map(|m| (m.name.to_string(), loo_of(m))).collect();
    let bb = Weighting::BbPseudoBma {
        samples: 1000,
        alpha: 1.0,
        seed: 9,
    };
    let rows = compare(&loos, bb).unwrap();
    assert_eq!(
        rows,
        compare(&loos, bb).unwrap(),
        "the seed fixes the draws"
    );
    let total: f64 = rows.iter().map(|r| r.weight).sum();
    assert!((total - 1.0).abs() < 1e-12);
    // with Dirichlet(1) weights, var(Σ b_i e_i) = var_n(e)/(n + 1): the bootstrap's se of
    // z = n Σ b_i e_i is the LOO se times √(n/(n + 1)), up to a Monte Carlo error of
    // 1/√(2·1000) ≈ 2 % (four of them)
    let shrink = (POINTS as f64 / (POINTS as f64 + 1.0)).sqrt();
    for r in &rows {
        let loo = &loos.iter().find(|(n, _)| *n == r.name).unwrap().1;
        assert!(
            rel(r.se, loo.se * shrink) < 0.09,
            "{}: se {} vs {}",
            r.name,
            r.se,
            loo.se * shrink
        );
    }
    // the best model takes almost all the weight; the worst, 1.7 dse behind, a trace (ArviZ's
    // BB-pseudo-BMA with seeds 1, 2, 3: 0.994, 0.989, 0.996 and 6e-4, 2e-4, 1e-5)
    assert_eq!(rows[0].name, "student_t");
    assert!(rows[0].weight > 0.98 && rows[2].weight < 1e-2, "{rows:?}");
    // another seed, other draws
    let other = compare(
        &loos,
        Weighting::BbPseudoBma {
            samples: 1000,
            alpha: 1.0,
            seed: 10,
        },
    )
    .unwrap();
    assert_ne!(other[0].weight, rows[0].weight);
}

#[test]
fn bad_input_is_named() {
    let m = &models()[0];
    let ll = &m.log_lik;
    let data_err = |r: Result<Loo, Error>| match r {
        Err(Error::Data(msg)) => msg,
        other => panic!("expected Error::Data, got {other:?}"),
    };
    assert_eq!(data_err(psis_loo(&[], 1.0)), "log_lik: no chains");
    assert_eq!(
        data_err(psis_loo(&[vec![]], 1.0)),
        "log_lik: chain 0 has no draws"
    );
    let mut ragged = ll.clone();
    ragged[2].pop();
    assert_eq!(
        data_err(psis_loo(&ragged, 1.0)),
        "log_lik: chain 2 has 499 draws where chain 0 has 500"
    );
    let mut short = ll.clone();
    short[1][3].pop();
    assert_eq!(
        data_err(psis_loo(&short, 1.0)),
        "log_lik: draw 3 of chain 1 has 39 points where draw 0 of chain 0 has 40"
    );
    let mut nan = ll.clone();
    nan[3][10][5] = f64::NAN;
    assert_eq!(
        data_err(psis_loo(&nan, 1.0)),
        "log_lik: the value of chain 3, draw 10, index 5 is NaN, not finite"
    );
    let mut inf = ll.clone();
    inf[0][0][0] = f64::NEG_INFINITY;
    assert!(matches!(waic(&inf), Err(Error::Data(_))));
    assert_eq!(
        data_err(psis_loo(&[vec![vec![]; 3]], 1.0)),
        "log_lik: the draws have no points"
    );
    for reff in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        match psis_loo(ll, reff) {
            Err(Error::InvalidOption { option, .. }) => assert_eq!(option, "reff"),
            other => panic!("reff {reff}: {other:?}"),
        }
    }
    match psis_loo(&[vec![vec![-1.0, -2.0]]], 1.0) {
        Err(Error::InvalidOption {
            option, message, ..
        }) => {
            assert_eq!(option, "log_lik");
            assert!(message.contains("at least 2 draws"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let mut flat = m.posterior.clone();
    flat[1][7].clear();
    assert!(matches!(relative_efficiency(&flat), Err(Error::Data(_))));
    let few: Vec<Vec<Vec<f64>>> = m.posterior.iter().map(|c| c[..7].to_vec()).collect();
    assert!(matches!(relative_efficiency(&few), Err(Error::Data(_))));

    let loo = loo_of(m);
    let option_of = |r: Result<Vec<CompareRow>, Error>| match r {
        Err(Error::InvalidOption { option, .. }) => option,
        other => panic!("expected Error::InvalidOption, got {other:?}"),
    };
    assert_eq!(
        option_of(compare::<Loo>(&[], Weighting::Stacking)),
        "models"
    );
    let twice = [
        ("a".to_string(), loo.clone()),
        ("a".to_string(), loo.clone()),
    ];
    assert_eq!(option_of(compare(&twice, Weighting::Stacking)), "models");
    let bb = |samples, alpha| Weighting::BbPseudoBma {
        samples,
        alpha,
        seed: 0,
    };
    let one = [("a".to_string(), loo.clone())];
    assert_eq!(option_of(compare(&one, bb(0, 1.0))), "samples");
    assert_eq!(option_of(compare(&one, bb(10, 0.0))), "alpha");
    let mut fewer = loo.clone();
    fewer.pointwise.pop();
    let mixed = [("a".to_string(), loo.clone()), ("b".to_string(), fewer)];
    match compare(&mixed, Weighting::Stacking) {
        Err(Error::Data(msg)) => assert!(msg.contains("39 pointwise values"), "{msg}"),
        other => panic!("{other:?}"),
    }
    // one model: rank 0, all the weight, no difference
    let rows = compare(&one, Weighting::Stacking).unwrap();
    assert_eq!(
        (rows[0].rank, rows[0].weight, rows[0].elpd_diff, rows[0].dse),
        (0, 1.0, 0.0, 0.0)
    );
}

#[test]
fn results_round_trip_through_json_with_an_infinite_k() {
    // 20 draws: a tail of 4 draws, too few to fit, so every k is ∞ (as ArviZ)
    let m = &models()[0];
    let ll: Vec<Vec<Vec<f64>>> = vec![m.log_lik[0][..20].to_vec()];
    let loo = psis_loo(&ll, 1.0).unwrap();
    assert!(loo.pareto_k.iter().all(|k| *k == f64::INFINITY));
    assert!(loo.warning);
    let json = serde_json::to_string(&loo).unwrap();
    assert_eq!(serde_json::from_str::<Loo>(&json).unwrap(), loo);
    let w = waic(&ll).unwrap();
    assert_eq!(
        serde_json::from_str::<Waic>(&serde_json::to_string(&w).unwrap()).unwrap(),
        w
    );
    let rows = compare(&[("x".to_string(), loo)], Weighting::default()).unwrap();
    let json = serde_json::to_string(&rows).unwrap();
    assert_eq!(
        serde_json::from_str::<Vec<CompareRow>>(&json).unwrap(),
        rows
    );
}
