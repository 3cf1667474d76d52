"""phta.evaluation — real-world evaluation of diagnostics and AI models (see DESIGN.md and
docs/evaluation.md).

Statistics (NumPy/SciPy/statsmodels): ``accuracy`` (2x2, intervals, likelihood ratios),
``discrimination`` (AUROC with fast DeLong, paired/unpaired tests, PR curve), ``calibration``,
``utility`` (net benefit), ``bootstrap`` (stratified by group), ``equity``, ``drift``, ``pooling``
(random-effects meta-analysis across nodes). Around them: ``protocol`` (pre-registered, frozen,
hashed), ``models`` (JSON formulas and ONNX graphs scored as data), ``evaluate`` (one evaluation
with disclosure control on every table), ``report``/``plots``/``checklists`` (HTML, JSON, PDF;
STARD 2015 and TRIPOD+AI), ``metrics_file`` (``phta evaluate metrics``), ``synthetic`` (the demo
model). The in-node run through the execution path is not here yet.
"""
